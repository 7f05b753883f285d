#!/usr/bin/env -S node --
// `shoal`: the command-line client of a shoal (or Docker) swarm, speaking the Engine API.
//
// The `--` in the interpreter line stops Node 20 from taking `--env-file <path>` among the CLI's own
// arguments (`shoal service create --env-file …`) as an option for itself.

import { main } from './program.js';
import { processStreams } from './streams.js';

// A closed pipe (`shoal service ls | head -1`) ends the output quietly, as it does for docker.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

process.exitCode = await main(process.argv.slice(2), processStreams(), process.env);
