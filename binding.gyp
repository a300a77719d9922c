{
  "targets": [
    {
      "target_name": "berth",
      "sources": ["native/berth.c", "native/memory.cc"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
