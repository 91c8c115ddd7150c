import { parseArgs } from 'node:util';
import { ConfigError } from '@vigil/config';
import { ConflictError } from '@vigil/db';
import { orgCreate, projectCreate, rulesDefaults, tokenCreate } from './admin-commands';
import { createOutput, UsageError } from './output';
import { readSettings } from './settings';
import { infraDown, infraStatus, infraUp, migrateCommand } from './stack-commands';
import { up } from './up';

const USAGE = `usage: vigil <command> [--json]

  up                                   start dependencies, migrate, start every service (npm start)
  infra up | down | status             only the dependencies (Kafka, schema registry, PostgreSQL, Redis)
  migrate [--down N]                   apply (or revert N) database migrations
  org create SLUG [--name NAME]
  token create --org SLUG --scopes a,b,c|all [--name N] [--expires 30d]
  project create --org SLUG NAME
  rules defaults --project ID [--org SLUG] [--blocklist cidr,cidr]
                                       store the default rule pack for a project (again: only what is missing)

Configuration is read from the environment; see README.md.`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      org: { type: 'string' },
      scopes: { type: 'string' },
      name: { type: 'string' },
      expires: { type: 'string' },
      down: { type: 'string' },
      project: { type: 'string' },
      blocklist: { type: 'string' },
    },
  });
  const out = createOutput(values.json);
  const [cmd, sub, ...rest] = positionals;
  if (values.help || !cmd) {
    process.stdout.write(`${USAGE}\n`);
    return cmd || values.help ? 0 : 2;
  }
  const settings = readSettings();
  const need = (v: string | undefined, what: string) => {
    if (!v) throw new UsageError(`missing ${what}\n\n${USAGE}`);
    return v;
  };
  switch (`${cmd} ${sub ?? ''}`.trim()) {
    case 'up':
      await up(settings, out);
      return 0;
    case 'infra up':
      await infraUp(settings, out);
      return 0;
    case 'infra down':
      await infraDown(settings, out);
      return 0;
    case 'infra status':
      return (await infraStatus(settings, out)) ? 0 : 1;
    case 'migrate': {
      const down = values.down ? Number(values.down) : undefined;
      if (down !== undefined && !(Number.isInteger(down) && down > 0)) throw new UsageError('--down takes a positive number');
      await migrateCommand(settings, out, down);
      return 0;
    }
    case 'org create':
      await orgCreate(settings, out, need(rest[0], 'SLUG'), values.name);
      return 0;
    case 'token create':
      await tokenCreate(settings, out, { org: need(values.org, '--org'), scopes: need(values.scopes, '--scopes'), name: values.name, expires: values.expires });
      return 0;
    case 'project create':
      await projectCreate(settings, out, { org: need(values.org, '--org'), name: need(rest.join(' ') || undefined, 'NAME') });
      return 0;
    case 'rules defaults':
      await rulesDefaults(settings, out, { project: need(values.project, '--project'), org: values.org, blocklist: values.blocklist });
      return 0;
    default:
      throw new UsageError(`unknown command "${positionals.join(' ')}"\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const json = process.argv.includes('--json');
    const kind = err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? 'usage'
      : err instanceof ConfigError ? 'config'
      : err instanceof ConflictError ? 'conflict'
      : 'error';
    const message = (err as Error).message;
    if (json) process.stdout.write(`${JSON.stringify({ error: { code: kind, message } })}\n`);
    process.stderr.write(`vigil: ${message}\n`);
    process.exitCode = kind === 'usage' ? 2 : 1;
  },
);
