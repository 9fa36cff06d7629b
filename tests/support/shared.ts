// Tests find ../shared through the same code as the benchmark runner.
export { projectRoot, sharedDir, sharedPath } from '../../src/cli/sharedFolder';
