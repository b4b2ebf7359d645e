// A server in a child process for `hsm bench serve` and the soak test, so the
// memory it reports is the server's alone. Started with fork(); the options
// come as JSON in argv[2]; it answers "stats" messages and stops on "stop".
import { startServer, type ServeOptions } from '../serve/server.js';

const opts = JSON.parse(process.argv[2]) as ServeOptions;
const server = await startServer(opts);
process.send!({ url: server.url });
process.on('message', (msg: string) => {
  if (msg === 'stats') {
    (globalThis as { gc?: () => void }).gc?.(); // with --expose-gc: live memory, not garbage awaiting collection
    const m = process.memoryUsage();
    const cpu = process.cpuUsage();
    process.send!({
      rssBytes: m.rss,
      heapUsedBytes: m.heapUsed,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      cpuS: (cpu.user + cpu.system) / 1e6,
    });
  } else if (msg === 'stop') void server.close().then(() => process.exit(0));
});
