// Prints the include or library directories of the libtorch the addon builds against.
// LIBTORCH=/path/to/libtorch (an unpacked official or CUDA build) overrides Debian's libtorch-dev.
const path = require("node:path");
const what = process.argv[2];
const root = process.env.LIBTORCH;
if (root) {
  const dirs = {
    include: [path.join(root, "include"), path.join(root, "include/torch/csrc/api/include")],
    lib: [path.join(root, "lib")],
  };
  console.log(dirs[what].join(" "));
} else {
  const dirs = {
    include: ["/usr/include", "/usr/include/torch/csrc/api/include"],
    lib: ["/usr/lib/x86_64-linux-gnu"],
  };
  console.log(dirs[what].join(" "));
}
