// The measuring end of bench/overlay, run inside a namespace (a task's, or a test host's):
//   tcp-server <ip> <port>             counts what it receives; prints Gbit/s when the sender ends
//   tcp-client <ip> <port> <seconds>   sends 256 KiB writes for that long
//   rtt-server <ip> <port>             echoes
//   rtt-client <ip> <port> <count>     one byte back and forth `count` times; prints the median µs
//   dns <server> <name> <count>        A queries one after the other; prints median and p99 µs

import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import dnsPacket from 'dns-packet';

const [mode, host, portText, amount] = process.argv.slice(2);
const port = Number(portText);
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

switch (mode) {
  case 'tcp-server': {
    const server = createServer((socket) => {
      let bytes = 0;
      let started = 0;
      socket.on('data', (chunk: Buffer) => {
        if (started === 0) started = performance.now();
        bytes += chunk.length;
      });
      socket.on('end', () => {
        const seconds = (performance.now() - started) / 1000;
        process.stdout.write(`${JSON.stringify({ gbits: (bytes * 8) / seconds / 1e9 })}\n`);
        socket.end();
        server.close();
      });
    });
    server.listen(port, host, () => process.stdout.write('ready\n'));
    break;
  }
  case 'tcp-client': {
    const socket = connect(port, host!, () => {
      const buffer = Buffer.alloc(256 * 1024);
      const end = performance.now() + Number(amount) * 1000;
      const pump = (): void => {
        while (performance.now() < end) {
          if (!socket.write(buffer)) {
            socket.once('drain', pump);
            return;
          }
        }
        socket.end();
      };
      pump();
    });
    socket.resume();
    break;
  }
  case 'rtt-server': {
    const server = createServer((socket) => {
      socket.setNoDelay(true);
      socket.on('data', (chunk: Buffer) => socket.write(chunk));
      socket.on('end', () => server.close());
    });
    server.listen(port, host, () => process.stdout.write('ready\n'));
    break;
  }
  case 'rtt-client': {
    const count = Number(amount);
    const samples: number[] = [];
    const socket = connect(port, host!, () => {
      socket.setNoDelay(true);
      let sent = performance.now();
      socket.on('data', () => {
        samples.push((performance.now() - sent) * 1000);
        if (samples.length >= count) {
          samples.sort((a, b) => a - b);
          process.stdout.write(`${JSON.stringify({ p50: pct(samples, 0.5), p99: pct(samples, 0.99) })}\n`);
          socket.end();
          return;
        }
        sent = performance.now();
        socket.write('x');
      });
      socket.write('x');
    });
    break;
  }
  case 'dns': {
    const count = Number(amount);
    const name = portText!;
    const socket = createSocket('udp4');
    const samples: number[] = [];
    let sent = 0;
    const ask = (): void => {
      sent = performance.now();
      socket.send(
        dnsPacket.encode({
          type: 'query',
          id: samples.length & 0xffff,
          flags: dnsPacket.RECURSION_DESIRED,
          questions: [{ type: 'A', name, class: 'IN' }],
        }),
        53,
        host,
      );
    };
    socket.on('message', () => {
      samples.push((performance.now() - sent) * 1000);
      if (samples.length >= count) {
        samples.sort((a, b) => a - b);
        process.stdout.write(`${JSON.stringify({ p50: pct(samples, 0.5), p99: pct(samples, 0.99) })}\n`);
        socket.close();
        return;
      }
      ask();
    });
    ask();
    break;
  }
  default:
    throw new Error(`unknown mode ${mode}`);
}
