export * from "./tensor.js";
export * from "./ops.js";
export * from "./optim.js";
export * from "./serialize.js";
export * from "./device.js";
