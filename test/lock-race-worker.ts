// A process of the lock race in limits.test.ts: on "go <ms>" it waits for that wall-clock instant, tries to lock
// the folder and answers "won" or "lost <message>"; on "release" it releases and answers "released"; on "die" it
// locks the folder and kills itself (leaving a stale lock). argv: the folder-lock module to test, the folder.
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

const [modulePath, dir] = process.argv.slice(2);
// `node --test dist/test/` runs every file here: without the race test's arguments there is nothing to do.
if (modulePath === undefined) process.exit(0);
const { lockFolder } = (await import(pathToFileURL(modulePath).href)) as {
  lockFolder: (dir: string, what: string) => () => void;
};
let release: (() => void) | null = null;
for await (const line of createInterface({ input: process.stdin })) {
  const [command, arg] = line.split(' ');
  if (command === 'die') {
    lockFolder(dir, 'run folder');
    process.kill(process.pid, 'SIGKILL');
  } else if (command === 'go') {
    while (Date.now() < Number(arg)); // start together, to the millisecond
    try {
      release = lockFolder(dir, 'run folder');
      process.stdout.write('won\n');
    } catch (err) {
      process.stdout.write(`lost ${(err as Error).message}\n`);
    }
  } else if (command === 'release') {
    release?.();
    release = null;
    process.stdout.write('released\n');
  }
}
