// Handing memory back to the kernel once the daemon is quiet: V8's own "low memory" collection
// (full collections that compact the heap and free its emptied pages) and then glibc's
// malloc_trim for the arenas. The one piece of the addon that needs V8's C++ API.
#include <v8.h>
#include <malloc.h>

extern "C" int berth_release_memory(void) {
  v8::Isolate *isolate = v8::Isolate::GetCurrent();
  if (isolate != nullptr) isolate->LowMemoryNotification();
  return malloc_trim(0);
}
