{
  "targets": [
    {
      "target_name": "berth",
      "sources": ["native/berth.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
