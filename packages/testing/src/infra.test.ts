import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { KAFKA_IMAGE, kafkaContainerEnvironment } from './infra.ts'
import { BROKER_SETTINGS, REPO_ROOT } from './local-kafka.ts'

// No Docker engine here: the container path is checked for what it would give the image, not run.
describe('the Kafka container (testcontainers)', () => {
  it('runs the broker version of the local jars and of docker-compose.yml', () => {
    const pom = readFileSync(join(REPO_ROOT, 'scripts/kafka/pom.xml'), 'utf8')
    const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1]
    expect(KAFKA_IMAGE).toBe(`apache/kafka:${version}`)
    expect(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')).toContain(`image: ${KAFKA_IMAGE}\n`)
  })
  it('gives the image the local broker settings, advertising the address the host reaches it on', () => {
    const env = kafkaContainerEnvironment('localhost', 32_801)
    // The image's mapping back: KAFKA_ dropped, lower case, _ to . (no setting here has _ or -).
    const props = Object.fromEntries(
      Object.entries(env).map(([k, v]) => [
        k
          .replace(/^KAFKA_/, '')
          .toLowerCase()
          .replaceAll('_', '.'),
        v,
      ]),
    )
    expect(props).toMatchObject(BROKER_SETTINGS)
    expect(props['advertised.listeners']).toBe('PLAINTEXT://localhost:32801')
    expect(props.listeners).toBe('PLAINTEXT://:9092,CONTROLLER://:9093')
    expect(props['controller.quorum.voters']).toBe('1@localhost:9093')
    for (const name of ['PLAINTEXT', 'CONTROLLER'])
      expect(props['listener.security.protocol.map']).toContain(`${name}:PLAINTEXT`)
  })
})
