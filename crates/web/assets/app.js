// The router: every page path gets the same HTML shell; this module draws the page the path
// names. Errors that escape a page become a notice instead of a blank page.

import { notify } from './api.js';
import { h, fill } from './dom.js';
import * as clusters from './pages/clusters.js';
import * as cluster from './pages/cluster.js';
import * as collector from './pages/collector.js';
import * as alerts from './pages/alerts.js';
import * as manage from './pages/manage.js';

window.addEventListener('unhandledrejection', (e) => {
  notify(`Unexpected error: ${e.reason && e.reason.message ? e.reason.message : e.reason}`);
});

function route(path) {
  if (path === '/' || path === '') return () => clusters.render;
  if (path === '/alerts') return () => alerts.render;
  if (path === '/collector') return () => collector.render;
  if (path === '/clusters/manage') return () => manage.render;
  const m = /^\/clusters\/(\d+)$/.exec(path);
  if (m) return () => (main) => cluster.render(main, Number(m[1]));
  return null;
}

function start() {
  const main = document.getElementById('main');
  const path = location.pathname.replace(/\/+$/, '') || '/';
  for (const link of document.querySelectorAll('nav a')) {
    if (link.getAttribute('href') === path) link.setAttribute('aria-current', 'page');
  }
  const page = route(path);
  if (!page) {
    fill(main, h('h1', {}, 'Not found'), h('p', {}, h('a', { href: '/' }, 'Back to the clusters')));
    return;
  }
  try {
    page()(main);
  } catch (e) {
    notify(`This page failed: ${e.message}`);
  }
}

start();
