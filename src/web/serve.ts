// `aepsl serve`: a static file server for an exported page (or any folder) on localhost. It sends the
// cross-origin isolation headers, so the page gets SharedArrayBuffer and onnxruntime-web runs its wasm on
// several threads; browsers give pages opened from disk (file://) neither module imports nor threads.
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize, resolve, sep } from "node:path";

const MIME: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".onnx": "application/octet-stream",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".webp": "image/webp",
  ".svg": "image/svg+xml",
  ".txt": "text/plain; charset=utf-8",
};

export interface StaticServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** Serves `root` on host:port (port 0: any free port); only files inside root, GET and HEAD only. */
export async function serveStatic(
  root: string,
  o: { port?: number; host?: string } = {},
): Promise<StaticServer> {
  const base = resolve(root);
  if (!existsSync(base) || !statSync(base).isDirectory()) throw new Error(`${base}: no such folder to serve`);
  const server = createServer((req, res) => {
    const headers = {
      "Cross-Origin-Opener-Policy": "same-origin",
      "Cross-Origin-Embedder-Policy": "require-corp",
      "Cache-Control": "no-cache",
    };
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { ...headers, Allow: "GET, HEAD" }).end();
      return;
    }
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? "/", "http://localhost").pathname);
    } catch {
      res.writeHead(400, headers).end("bad request");
      return;
    }
    let file = normalize(join(base, path));
    if (file !== base && !file.startsWith(base + sep)) {
      res.writeHead(403, headers).end("outside the served folder");
      return;
    }
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, "index.html");
    if (!existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { ...headers, "Content-Type": "text/plain" }).end(`not found: ${path}`);
      return;
    }
    res.writeHead(200, {
      ...headers,
      "Content-Type": MIME[extname(file).toLowerCase()] ?? "application/octet-stream",
      "Content-Length": statSync(file).size,
    });
    if (req.method === "HEAD") res.end();
    else createReadStream(file).pipe(res);
  });
  const host = o.host ?? "127.0.0.1";
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(o.port ?? 8080, host, () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host === "0.0.0.0" ? "localhost" : host}:${port}/`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
