// Imported by app.js with a relative specifier: the import map gives it a versioned URL.
export const greeting = 'greeting.js imported';
