/**
 * A preload (`node --import`) that appends the URL of every module the
 * process loads, one a line, to the file named by MCP_ADMISSION_MODULE_LOG.
 * Node 24's synchronous module hooks (`module.registerHooks`) see ES modules
 * and `require()` alike, and run in the process itself, so a line is on disk
 * before the module's code runs.
 */
import { appendFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const log = process.env.MCP_ADMISSION_MODULE_LOG;
if (!log) throw new Error('record-modules: set MCP_ADMISSION_MODULE_LOG to the file to append module URLs to');

registerHooks({
  load(url, context, nextLoad) {
    appendFileSync(log, `${url}\n`);
    return nextLoad(url, context);
  },
});
