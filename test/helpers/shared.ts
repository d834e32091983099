// The development and CI machines keep their read-only data (Google's TFLite files, the U²-Netp ONNX file
// and its reference pair) in ../shared beside the checkout; AEPSL_SHARED=<dir> points a checkout elsewhere
// (a clone in /tmp) at it. Tests that read it fail, not skip, when it is missing: it is part of the
// environment, and a skip would hide the conversion tests.
import { join, resolve } from "node:path";
import { REPO } from "./cli.js";

export const SHARED_DIR = resolve(process.env.AEPSL_SHARED ?? join(REPO, "..", "shared"));
