import { it } from 'vitest';
import * as m from '../../../../services/stream/clickhouse-sink/sink.ts';
it('x', () => { void m; });
