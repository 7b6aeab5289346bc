// Integration tier: tests that run the cdktf CLI or terraform (seconds each), kept out of the unit suite's 5 s.
// Same transform and setup as jest.config.js.
const unit = require('./jest.config.js');

module.exports = {
  ...unit,
  testPathIgnorePatterns: ['/node_modules/'],
  roots: ['<rootDir>/__tests__/integration'],
  testTimeout: 60000,
};
