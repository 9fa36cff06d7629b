import { TrainClient } from '../../workers/trainClient';

/** The page's one training worker client; the worker starts with the first run. */
export const trainClient = new TrainClient();
