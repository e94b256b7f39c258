// Baseline for `circle load --protocol raw`: the smallest broadcast server the
// npm `ws` package allows. A connection to /room/<id> joins that room; every
// binary message is relayed to the room's other connections. No protocol, no
// checks, no TLS: what Circle is compared with in bench/run.
'use strict';
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2] || 9100);
const rooms = new Map();
const server = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false });

server.on('connection', (socket, request) => {
  const room = request.url;
  let members = rooms.get(room);
  if (!members) rooms.set(room, (members = new Set()));
  members.add(socket);
  socket.on('message', (data, isBinary) => {
    for (const peer of members) {
      if (peer !== socket && peer.readyState === 1) peer.send(data, { binary: isBinary });
    }
  });
  socket.on('close', () => {
    members.delete(socket);
    if (members.size === 0) rooms.delete(room);
  });
});
server.on('listening', () => console.log(`baseline: listening on ws://127.0.0.1:${port}`));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
