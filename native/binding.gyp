{
  "targets": [
    {
      "target_name": "aepsl",
      "sources": ["src/binding.cc", "src/tensor_ops.cc", "src/nn_ops.cc", "src/device_ops.cc", "src/crf.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node libtorch-paths.cjs include)"
      ],
      "libraries": ["<!@(node libtorch-paths.cjs ldflags)"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["<!@(node libtorch-paths.cjs std)", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "defines": [
        "NAPI_CPP_EXCEPTIONS",
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "<!@(node libtorch-paths.cjs defines)"
      ]
    }
  ]
}
