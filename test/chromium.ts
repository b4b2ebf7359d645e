// Headless Chromium for the browser tests (playwright-core driving Debian's Chromium).
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM } from './toolchains.js';

/**
 * Starts headless Chromium. If it cannot start, `server` (the test's HTTP
 * server, already listening) is closed first: an open server would keep the
 * test process alive after the failure, and the suite would hang.
 */
export async function launchChromium(server?: { close(): Promise<void> }): Promise<Browser> {
  try {
    return await chromium.launch({ executablePath: CHROMIUM, headless: true });
  } catch (err) {
    await server?.close();
    throw err;
  }
}
