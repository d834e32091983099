// Every command module, imported for its registerCommand() side effect; the order here is the order of
// `aepsl --help`, so keep it the pipeline order. Command modules must import the engine lazily (inside
// run()) so that help works without the native addon.
import "./info.js";
import "./pipeline-commands.js";
import "./report-command.js";
import "./export-commands.js";
