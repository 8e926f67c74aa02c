// Debian Chromium for the e2e tests, and a user's first steps in it (sign up, get a key), shared
// by the journeys.

import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
];

export function launchChromium() {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

/** A fresh page whose console errors that mention "fatal" (hls.js's fatal errors) go to `fatalErrors`. */
export async function newPage(browser, fatalErrors) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error' && /fatal/i.test(message.text())) fatalErrors.push(message.text());
  });
  return page;
}

/** Signs `username` up in the page, which signs them in and opens the dashboard. */
export async function signUp(page, web, username) {
  await page.goto(`${web}/signup`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Email').fill(`${username}@example.com`);
  await page.getByLabel('Password').fill('correct horse battery staple');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(/\/dashboard/, { timeout: 15000 });
}

/** Signs `username` up in the page, opens the dashboard, creates, reveals and returns the key. */
export async function signUpForKey(page, web, username) {
  await signUp(page, web, username);
  await page.getByTestId('create-key').click();
  await page.getByTestId('reveal-key').click();
  const key = (await page.getByTestId('stream-key').innerText()).trim();
  assert.match(key, /^live_[A-Za-z0-9_-]{20,}$/, 'the dashboard shows a full stream key once revealed');
  return key;
}
