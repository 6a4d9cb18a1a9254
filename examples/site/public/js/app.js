// The demo script, a native ES module: shows that it ran, and when. Its two imports are versioned
// by the import map that <% static_importmap "js/app.js" %> prints, so a normal reload fetches none.
import { greeting } from './greeting.js';
import { clock } from 'tiny-clock';

document.querySelector('#script-status').textContent = `app.js ran at ${clock(new Date())} (${greeting})`;
