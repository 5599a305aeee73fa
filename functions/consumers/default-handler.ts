// Default consumer Lambda for any route: validates each event and logs a
// one-line summary of it (no user code). Replace it per route with your own
// module exporting `handler = lambdaConsumer({ ONIMV2MESSAGEADD: ... })`.
import { lambdaConsumer } from './lambda-consumer.js';

export const handler = lambdaConsumer({});
