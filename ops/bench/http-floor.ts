// The HTTP floor: a bare Bun server that reads the body and answers the ingress's 200
// JSON, doing nothing else. With the JetStream ceiling it bounds what one process
// doing both can reach: 1 / (1/floor + 1/ceiling) requests per second.
const body = JSON.stringify({ received: true, eventId: "evt_00000000000000000000000000000000", duplicate: false });
Bun.serve({
  hostname: "127.0.0.1",
  port: Number(process.env.PORT),
  async fetch(req) {
    if (req.method === "GET") return new Response("ok");
    await req.arrayBuffer();
    return new Response(body, { headers: { "content-type": "application/json" } });
  },
});
