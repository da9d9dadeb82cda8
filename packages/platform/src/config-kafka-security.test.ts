import { execFileSync } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BaseConfig, describeConfig, loadConfig, PemFile } from './config.ts'
import { refusal } from './config-test-support.ts'
import { kafkaClientConfig, kafkaSecurity } from './kafka/kafka-client.ts'
import { createCapturingLogger } from './logger.ts'

const PASSWORD = 'Hunter2-s3cret#pw'

let dir: string
/** PEM files made by openssl: a CA certificate, a client certificate and its key, another key, a non-PEM file. */
const files = { ca: '', cert: '', key: '', otherKey: '', notPem: '', unreadable: '' }

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tradepulse-pem-'))
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=ca')
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'client.key',
    '-out',
    'client.pem',
    '-days',
    '1',
    '-subj',
    '/CN=c',
  )
  openssl('genpkey', '-algorithm', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', 'other.key')
  writeFileSync(join(dir, 'not.pem'), 'just some text\n')
  writeFileSync(join(dir, 'locked.pem'), '-----BEGIN CERTIFICATE-----\n')
  chmodSync(join(dir, 'locked.pem'), 0)
  Object.assign(files, {
    ca: join(dir, 'ca.pem'),
    cert: join(dir, 'client.pem'),
    key: join(dir, 'client.key'),
    otherKey: join(dir, 'other.key'),
    notPem: join(dir, 'not.pem'),
    unreadable: join(dir, 'locked.pem'),
  })
})

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('Kafka TLS settings', () => {
  it('are off by default: no TLS, no SASL, a broker certificate verified when TLS is on', () => {
    const c = loadConfig(BaseConfig, {})
    expect([c.KAFKA_SSL, c.KAFKA_SSL_REJECT_UNAUTHORIZED, c.KAFKA_SASL_MECHANISM]).toEqual([
      false,
      true,
      undefined,
    ])
    expect(kafkaSecurity(c)).toEqual({})
    expect(kafkaClientConfig(c, 'id')).toEqual({
      brokers: ['127.0.0.1:9092'],
      clientId: 'id',
      metadataMaxAgeMs: 30_000,
    })
    expect(kafkaSecurity(loadConfig(BaseConfig, { KAFKA_SSL: 'true' }))).toEqual({
      ssl: { rejectUnauthorized: true },
    })
  })

  it('reads the CA, certificate and key files at load, and gives kafkajs their contents', () => {
    const c = loadConfig(BaseConfig, {
      KAFKA_SSL: '1',
      KAFKA_SSL_CA_FILE: ` ${files.ca} `,
      KAFKA_SSL_CERT_FILE: files.cert,
      KAFKA_SSL_KEY_FILE: files.key,
      KAFKA_SSL_REJECT_UNAUTHORIZED: 'false',
    })
    expect(c.KAFKA_SSL_CA_FILE?.path).toBe(files.ca)
    const { ssl } = kafkaSecurity(c) as { ssl: Record<string, unknown> }
    expect(ssl.rejectUnauthorized).toBe(false)
    expect(ssl.ca).toMatch(/^-----BEGIN CERTIFICATE-----/)
    expect(ssl.cert).toMatch(/^-----BEGIN CERTIFICATE-----/)
    expect(ssl.key).toMatch(/^-----BEGIN PRIVATE KEY-----/)
  })

  it('refuses a file that is missing, unreadable or not PEM, naming the variable and the path', () => {
    const missing = join(dir, 'nowhere.pem')
    expect(refusal({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: missing })).toBe(
      `invalid configuration:\n  KAFKA_SSL_CA_FILE: cannot read ${JSON.stringify(missing)}: no such file`,
    )
    expect(refusal({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: files.notPem })).toBe(
      `invalid configuration:\n  KAFKA_SSL_CA_FILE: ${JSON.stringify(files.notPem)} is not a PEM file (no -----BEGIN line)`,
    )
    expect(refusal({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: dir })).toMatch(
      new RegExp(`KAFKA_SSL_CA_FILE: cannot read "${dir}": .*EISDIR`),
    )
    // root reads a file whatever its mode: the refusal shows only where permissions hold.
    if (process.getuid?.() !== 0)
      expect(refusal({ KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: files.unreadable })).toMatch(
        /KAFKA_SSL_CERT_FILE: cannot read ".*locked\.pem": permission denied/,
      )
  })

  it('refuses TLS settings without KAFKA_SSL=true, naming each', () => {
    expect(refusal({ KAFKA_SSL_CA_FILE: files.ca, KAFKA_SSL_REJECT_UNAUTHORIZED: 'false' })).toBe(
      'invalid configuration:\n' +
        '  KAFKA_SSL_CA_FILE: takes effect only with KAFKA_SSL=true (set KAFKA_SSL=true, or unset KAFKA_SSL_CA_FILE)\n' +
        '  KAFKA_SSL_REJECT_UNAUTHORIZED: takes effect only with KAFKA_SSL=true (set KAFKA_SSL=true, or unset KAFKA_SSL_REJECT_UNAUTHORIZED)',
    )
    expect(refusal({ KAFKA_SSL: 'false', KAFKA_SSL_CA_FILE: files.ca })).toMatch(
      /KAFKA_SSL_CA_FILE: takes effect only/,
    )
    expect(refusal({ KAFKA_SSL: 'yes' })).toMatch(/^invalid configuration:\n {2}KAFKA_SSL: .*\(got "yes"\)$/)
  })

  it('refuses a certificate without its key, a key not of the certificate, and a CA file with no certificate', () => {
    expect(refusal({ KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: files.cert })).toBe(
      'invalid configuration:\n  KAFKA_SSL_KEY_FILE: required with KAFKA_SSL_CERT_FILE (a client certificate and its key go together)',
    )
    expect(refusal({ KAFKA_SSL: 'true', KAFKA_SSL_KEY_FILE: files.key })).toBe(
      'invalid configuration:\n  KAFKA_SSL_CERT_FILE: required with KAFKA_SSL_KEY_FILE (a client certificate and its key go together)',
    )
    expect(
      refusal({ KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: files.cert, KAFKA_SSL_KEY_FILE: files.otherKey }),
    ).toMatch(
      /^invalid configuration:\n {2}KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE: ".*client\.pem" and ".*other\.key" are not a certificate and its unencrypted key: .*key values mismatch$/,
    )
    expect(refusal({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: files.key })).toMatch(
      /^invalid configuration:\n {2}KAFKA_SSL_CA_FILE: ".*client\.key" holds no usable CA certificate: /,
    )
  })

  it('keeps key contents out of a configuration logged or printed whole', () => {
    const c = loadConfig(BaseConfig, {
      KAFKA_SSL: 'true',
      KAFKA_SSL_CERT_FILE: files.cert,
      KAFKA_SSL_KEY_FILE: files.key,
    })
    expect(c.KAFKA_SSL_KEY_FILE).toBeInstanceOf(PemFile)
    expect(JSON.stringify(c)).toContain(`"KAFKA_SSL_KEY_FILE":${JSON.stringify(files.key)}`)
    expect(JSON.stringify(c)).not.toContain('PRIVATE KEY')
    expect(inspect(c, { depth: 5 })).not.toContain('PRIVATE KEY')
  })
})

describe('Kafka SASL settings', () => {
  const sasl = (over: Record<string, string> = {}) => ({
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: 'tradepulse',
    KAFKA_SASL_PASSWORD: PASSWORD,
    ...over,
  })

  it('takes plain, scram-sha-256 and scram-sha-512 in any case, and gives them to kafkajs', () => {
    for (const [given, mechanism] of [
      ['plain', 'plain'],
      ['PLAIN', 'plain'],
      ['SCRAM-SHA-256', 'scram-sha-256'],
      ['scram-sha-512', 'scram-sha-512'],
    ]) {
      const c = loadConfig(BaseConfig, sasl({ KAFKA_SASL_MECHANISM: given! }))
      expect(kafkaSecurity(c)).toEqual({ sasl: { mechanism, username: 'tradepulse', password: PASSWORD } })
    }
    // The password as given: white space at its ends is the password's.
    const spaced = loadConfig(BaseConfig, sasl({ KAFKA_SASL_PASSWORD: ` ${PASSWORD} ` }))
    expect(spaced.KAFKA_SASL_PASSWORD).toBe(` ${PASSWORD} `)
  })

  it('refuses a mechanism kafkajs has not, and a mechanism without both credentials, naming them', () => {
    expect(refusal(sasl({ KAFKA_SASL_MECHANISM: 'gssapi' }))).toMatch(
      /^invalid configuration:\n {2}KAFKA_SASL_MECHANISM: .*"plain".*"scram-sha-256".*"scram-sha-512".* \(got "gssapi"\)$/,
    )
    expect(refusal({ KAFKA_SASL_MECHANISM: 'plain' })).toBe(
      'invalid configuration:\n' +
        '  KAFKA_SASL_USERNAME: required with KAFKA_SASL_MECHANISM=plain (not set)\n' +
        '  KAFKA_SASL_PASSWORD: required with KAFKA_SASL_MECHANISM=plain (not set)',
    )
    expect(
      refusal({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: ' ' }),
    ).toBe(
      'invalid configuration:\n  KAFKA_SASL_PASSWORD: required with KAFKA_SASL_MECHANISM=plain (not set)',
    )
  })

  it('refuses credentials without a mechanism (they would be ignored), naming the password only by name', () => {
    const message = refusal({ KAFKA_SASL_USERNAME: 'tradepulse', KAFKA_SASL_PASSWORD: PASSWORD })
    expect(message).toBe(
      'invalid configuration:\n  KAFKA_SASL_MECHANISM: required with KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD set (plain, scram-sha-256, scram-sha-512; not set)',
    )
  })

  it('never shows the password: not in an error, not in a log line of the configuration', () => {
    // An error listing every variable in trouble, the password's own included.
    const Schema = BaseConfig.extend({
      KAFKA_SASL_PASSWORD: BaseConfig.shape.KAFKA_SASL_PASSWORD.refine(() => false),
    })
    let message = ''
    try {
      loadConfig(Schema, sasl({ KAFKA_SASL_MECHANISM: 'kerberos' }))
    } catch (err) {
      message = (err as Error).message
    }
    expect(message).toMatch(/KAFKA_SASL_PASSWORD: .*\(got \[redacted\]\)/)
    expect(message).not.toContain(PASSWORD)

    const config = loadConfig(BaseConfig, sasl())
    const { log, lines } = createCapturingLogger()
    log.info({ config }, 'effective configuration')
    log.info({ sasl: kafkaSecurity(config).sasl }, 'kafka client')
    log.info({ kafka: kafkaClientConfig(config, 'x') }, 'kafka client')
    expect(lines).toHaveLength(3)
    expect(JSON.stringify(lines)).not.toContain(PASSWORD)
    expect(lines[0]!.config).toMatchObject({
      KAFKA_SASL_PASSWORD: '[redacted]',
      KAFKA_SASL_USERNAME: 'tradepulse',
    })
  })

  it('documents every new variable for the README table, with its default', () => {
    const rows = Object.fromEntries(describeConfig(BaseConfig).map((r) => [r.name, r]))
    expect(rows.KAFKA_SSL?.default).toBe('false')
    expect(rows.KAFKA_SSL_REJECT_UNAUTHORIZED?.default).toBe('true')
    for (const name of [
      'KAFKA_SSL',
      'KAFKA_SSL_CA_FILE',
      'KAFKA_SSL_CERT_FILE',
      'KAFKA_SSL_KEY_FILE',
      'KAFKA_SSL_REJECT_UNAUTHORIZED',
      'KAFKA_SASL_MECHANISM',
      'KAFKA_SASL_USERNAME',
      'KAFKA_SASL_PASSWORD',
    ])
      expect(rows[name]?.description, name).toMatch(/\w{3}/)
  })
})
