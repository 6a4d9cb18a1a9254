// The demo script: shows that it ran, and when.
document.querySelector('#script-status').textContent = `app.js ran at ${new Date().toLocaleTimeString()}`;
