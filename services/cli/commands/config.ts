import { declaredEnv } from '../../shared/config.ts';
import { noArguments, type Command } from '../command.ts';
import { loadServiceConfigs } from '../service-configs.ts';

export const help = `usage: studystream config

Prints every environment variable the services read, grouped by service, with its default and meaning
(the same table as the README's Configuration section).
`;

const config: Command = async (args) => {
  noArguments(args);
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
