# Builds the mnist-lab MPI addon: build/Release/mnist_lab_mpi.node (the collectives of data-parallel
# training, native/src/mpi.cc). scripts/build-mpi.mjs runs `node-gyp rebuild` here only when
# `pkg-config --exists ompi` succeeds; flags come from pkg-config (Debian: libopenmpi-dev).
{
  "targets": [
    {
      "target_name": "mnist_lab_mpi",
      "sources": ["../src/mpi.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED", "OMPI_SKIP_MPICXX=1"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O2", "-fexceptions", "-Wall", "-Wextra", "<!@(pkg-config --cflags ompi)"],
      "libraries": ["<!@(pkg-config --libs ompi)"],
      "conditions": [
        ["OS=='mac'", {
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "MACOSX_DEPLOYMENT_TARGET": "11.0",
            "OTHER_CPLUSPLUSFLAGS": ["<!@(pkg-config --cflags ompi)"]
          }
        }]
      ]
    }
  ]
}
