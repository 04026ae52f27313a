# Builds the mnist-lab oneDNN addon: build/Release/mnist_lab_native.node.
# scripts/build-native.mjs runs `node-gyp rebuild` here and passes where oneDNN lives through
# MNIST_LAB_DNNL_INCLUDE / MNIST_LAB_DNNL_LIB (empty: the system paths).
{
  "variables": {
    "dnnl_include%": "<!(node -p \"process.env.MNIST_LAB_DNNL_INCLUDE || '/usr/include'\")",
    "dnnl_lib%": "<!(node -p \"process.env.MNIST_LAB_DNNL_LIB || ''\")"
  },
  "targets": [
    {
      "target_name": "mnist_lab_native",
      "sources": [
        "src/addon.cc",
        "src/binary.cc",
        "src/conv.cc",
        "src/eltwise.cc",
        "src/fused.cc",
        "src/layout.cc",
        "src/matmul.cc",
        "src/norm.cc",
        "src/plan.cc",
        "src/pool.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<(dnnl_include)"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      # -fno-math-errno: sqrt without errno handling, so the optimizer loops vectorise (the results
      # are the same IEEE-exact square roots).
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-ldnnl"],
      "conditions": [
        ["dnnl_lib!=''", {
          "libraries": ["-L<(dnnl_lib)", "-Wl,-rpath,<(dnnl_lib)"]
        }],
        ["OS=='linux'", {
          "cflags_cc": ["-fopenmp"],
          "ldflags": ["-fopenmp"]
        }],
        ["OS=='mac'", {
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "MACOSX_DEPLOYMENT_TARGET": "11.0",
            "OTHER_CPLUSPLUSFLAGS": ["-O3"]
          }
        }]
      ]
    }
  ]
}
