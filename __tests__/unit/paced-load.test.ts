import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { completeResponse, runPaced } from "../../bench/system/paced";

describe("the bench's paced load (raw HTTP/1.1 on keep-alive sockets)", () => {
  it("frames a response by Content-Length or chunked encoding, and waits for the rest of one", () => {
    const sized = Buffer.from("HTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\nhello" + "HTTP/1.1 200 OK\r\n");
    expect(completeResponse(sized)).toEqual({ status: 201, length: sized.indexOf("hello") + 5 });
    expect(completeResponse(sized.subarray(0, sized.indexOf("hello") + 4))).toBeUndefined();
    const chunked = Buffer.from("HTTP/1.1 503 Service Unavailable\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
    expect(completeResponse(chunked)).toEqual({ status: 503, length: chunked.length });
    expect(completeResponse(chunked.subarray(0, chunked.length - 2))).toBeUndefined();
    expect(() => completeResponse(Buffer.from("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"))).toThrow(/without Content-Length/);
  });

  describe("against a real server", () => {
    let server: Server;
    const keys: string[] = [];
    let url = "";
    beforeAll(async () => {
      server = createServer((req, res) => {
        keys.push(String(req.headers["idempotency-key"]));
        req.resume();
        // Every third answer chunked, every seventh a failure.
        req.on("end", () => {
          const n = keys.length;
          res.statusCode = n % 7 === 0 ? 500 : 200;
          if (n % 3 === 0) {
            res.write("{");
            res.end('"ok":true}');
          } else res.end('{"ok":true}');
        });
      });
      await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await new Promise((done) => server.close(done));
    });

    it("sends rate x seconds requests on schedule, each with a key of its own, and counts what came back", async () => {
      const result = await runPaced(url, "Basic eDp5", 200, 0.5);
      expect(result.sent).toBe(100);
      expect(keys).toHaveLength(100);
      expect(new Set(keys).size).toBe(100);
      expect(result.ok + result.failed).toBe(100);
      expect(result.failed).toBe(14);
      expect(result.skipped).toBe(0);
      expect(result.latencyMs.count).toBe(86);
    });
  });
});
