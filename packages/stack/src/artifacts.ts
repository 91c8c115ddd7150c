import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasCommand, run } from './commands';
import { APICURIO_VERSION, KAFKA_VERSION } from './versions';

const INFRA_DIR = fileURLToPath(new URL('../../../infra', import.meta.url));

async function requireTools(): Promise<void> {
  for (const tool of ['java', 'mvn']) {
    if (!(await hasCommand(tool))) {
      throw new Error(
        `${tool} is needed to run the local Kafka broker and schema registry (Java 17+ and Maven). ` +
          `Install them (Debian: apt-get install openjdk-17-jre-headless maven), or point Vigil at existing ` +
          `services with KAFKA_BROKERS and SCHEMA_REGISTRY_URL.`,
      );
    }
  }
}

/** Resolves into a temporary directory and renames it into place, so concurrent starts never see half a copy. */
async function provision(target: string, fill: (tmp: string) => Promise<void>): Promise<string> {
  if (existsSync(join(target, '.complete'))) return target;
  await requireTools();
  const tmp = `${target}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    await fill(tmp);
    writeFileSync(join(tmp, '.complete'), new Date().toISOString());
    if (existsSync(join(target, '.complete'))) {
      rmSync(tmp, { recursive: true, force: true });
    } else {
      rmSync(target, { recursive: true, force: true });
      renameSync(tmp, target);
    }
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return target;
}

/** The Kafka broker's jars (directory with libs/), fetched once with Maven into the cache. */
export function kafkaRuntime(cacheDir: string): Promise<string> {
  return provision(join(cacheDir, `kafka-${KAFKA_VERSION}`), async (tmp) => {
    await run('mvn', [
      '-q',
      '-B',
      '-f',
      join(INFRA_DIR, 'kafka', 'pom.xml'),
      `-Dkafka.version=${KAFKA_VERSION}`,
      'dependency:copy-dependencies',
      `-DoutputDirectory=${join(tmp, 'libs')}`,
    ]);
  });
}

/** Apicurio Registry's Quarkus runner (directory with the runner jar and lib/), fetched once with Maven. */
export async function apicurioRuntime(cacheDir: string): Promise<{ dir: string; jar: string }> {
  const dir = await provision(join(cacheDir, `apicurio-registry-${APICURIO_VERSION}`), async (tmp) => {
    // The 2.8 copy goal resolves the archive alone; newer ones also want the parent POM, which is not published.
    await run('mvn', [
      '-q',
      '-B',
      'org.apache.maven.plugins:maven-dependency-plugin:2.8:copy',
      `-Dartifact=io.apicurio:apicurio-registry-app:${APICURIO_VERSION}:tar.gz:all`,
      `-DoutputDirectory=${tmp}`,
    ]);
    const archive = readdirSync(tmp).find((f) => f.endsWith('.tar.gz'));
    if (!archive) throw new Error('Apicurio Registry archive missing after mvn dependency:copy');
    await run('tar', ['xzf', archive], { cwd: tmp });
    rmSync(join(tmp, archive));
  });
  const jar = readdirSync(dir).find((f) => f.endsWith('-runner.jar') || f === 'quarkus-run.jar');
  if (!jar) throw new Error(`no Quarkus runner jar in ${dir}`);
  return { dir, jar: join(dir, jar) };
}
