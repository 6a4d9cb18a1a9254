// The express4 dev dependency is Express 4 installed under another name (npm:express@4), so the
// contract and recipe tests can run Express 4 and 5 side by side; it has the same types as express.
declare module 'express4' {
  import express = require('express');
  export = express;
}
