import { declaredEnv } from '../../shared/config.ts';
import type { Command } from '../command.ts';
import { loadServiceConfigs } from '../service-configs.ts';

const config: Command = async () => {
  await loadServiceConfigs();
  for (const { group, spec } of declaredEnv()) {
    console.log(`# ${group}`);
    for (const [name, { default: value, doc }] of Object.entries(spec)) {
      console.log(`${name}=${value}\t# ${doc}`);
    }
    console.log('');
  }
};
export default config;
