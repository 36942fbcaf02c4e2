import { z } from 'zod';
import { defineEnv, envBool, envInt } from '../shared/config.ts';

/** Environment of the simulator and the demo loader. */
export const simulatorEnv = defineEnv(
  'simulator',
  {
    STUDYSTREAM_API_KEY: {
      default: '',
      doc: 'API key `simulate --via ingest` sends (X-API-Key) unless --api-key is given',
    },
    DEMO_ENABLED: {
      default: 'true',
      doc: '`start` loads a demo cohort into empty topics and keeps demo students active',
    },
    DEMO_STUDENTS: { default: '200', doc: 'students in the demo cohort' },
    DEMO_DAYS: { default: '60', doc: 'days of history in the demo cohort (ending now)' },
    DEMO_SEED: { default: '2024', doc: 'seed of the demo cohort' },
    DEMO_LIVE_STUDENTS: {
      default: '5',
      doc: 'demo students kept studying in real time after the load (0: none)',
    },
  },
  {
    STUDYSTREAM_API_KEY: z.string(),
    DEMO_ENABLED: envBool('DEMO_ENABLED'),
    DEMO_STUDENTS: envInt('DEMO_STUDENTS'),
    DEMO_DAYS: envInt('DEMO_DAYS'),
    DEMO_SEED: z.string().min(1),
    DEMO_LIVE_STUDENTS: envInt('DEMO_LIVE_STUDENTS'),
  },
);

/** Seeds given as digits are numbers, anything else a string (both are fine for the PRNG). */
export const parseSeed = (text: string): number | string => (/^\d+$/.test(text) ? Number(text) : text);
