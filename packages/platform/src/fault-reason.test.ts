import { ReplyError } from 'ioredis'
import {
  KafkaJSConnectionError,
  KafkaJSError,
  KafkaJSNonRetriableError,
  KafkaJSNotImplemented,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSRequestTimeoutError,
  KafkaJSSASLAuthenticationError,
} from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { KAFKA_LISTENER_NOT_TLS, KAFKA_LISTENER_TLS, normalizeError, TradepulseError } from './errors.ts'
import { faultReason } from './fault-reason.ts'
import { KafkaClockError } from './kafka/produce.ts'

const sock = (code: string, message: string) => Object.assign(new Error(message), { code })
const protocol = (type: string) =>
  new KafkaJSProtocolError(Object.assign(new Error(`broker said ${type} for topic secret-topic`), { type }))

describe('faultReason', () => {
  it.each([
    ['a refused connection', sock('ECONNREFUSED', 'connect ECONNREFUSED 10.0.3.7:6379'), 'unreachable'],
    ['a host not found', sock('ENOTFOUND', 'getaddrinfo ENOTFOUND redis.internal'), 'unreachable'],
    ['a reset', sock('ECONNRESET', 'read ECONNRESET'), 'disconnected'],
    ['a socket timeout', sock('ETIMEDOUT', 'connect ETIMEDOUT 10.0.3.7:6379'), 'timeout'],
    ['a certificate', sock('CERT_HAS_EXPIRED', 'certificate has expired'), 'tls failed'],
    [
      'a TLS host name',
      sock('ERR_TLS_CERT_ALTNAME_INVALID', "Host: kafka.internal. is not in the cert's altnames"),
      'tls failed',
    ],
    [
      'a self-signed certificate',
      sock('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'),
      'tls failed',
    ],
    ['a peer speaking no TLS', sock('ERR_SSL_WRONG_VERSION_NUMBER', 'wrong version number'), 'tls failed'],
    [
      'a Kafka listener speaking no TLS (brokerSocket)',
      new KafkaJSConnectionError('Connection error: Client network socket disconnected', {
        code: KAFKA_LISTENER_NOT_TLS,
      }),
      'tls failed',
    ],
    [
      'a Kafka listener speaking TLS (brokerSocket)',
      new KafkaJSConnectionError('Connection error: the broker answered with TLS', {
        code: KAFKA_LISTENER_TLS,
      }),
      'tls failed',
    ],
    ['a Redis still loading', new ReplyError('LOADING Redis is loading the dataset in memory'), 'loading'],
    [
      'a Redis refusing the password',
      new ReplyError('WRONGPASS invalid username-password pair'),
      'auth refused',
    ],
    [
      'a read-only replica',
      new ReplyError("READONLY You can't write against a read only replica."),
      'read only',
    ],
    ['maxclients', new ReplyError('ERR max number of clients reached'), 'too many clients'],
    [
      'another reply',
      new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value'),
      'reply WRONGTYPE',
    ],
    ['an ioredis command timeout', new Error('Command timed out'), 'timeout'],
    ['a closed ioredis connection', new Error('Connection is closed.'), 'disconnected'],
    [
      'a Kafka broker unreachable',
      new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 10.0.3.8:9092', {
        broker: '10.0.3.8:9092',
        code: 'ECONNREFUSED',
      }),
      'unreachable',
    ],
    [
      'a Kafka connection timeout',
      new KafkaJSConnectionError('Connection timeout', { broker: 'k:9092' }),
      'timeout',
    ],
    [
      'a Kafka request timeout',
      new KafkaJSRequestTimeoutError('Request Produce(key: 0, version: 7) timed out'),
      'timeout',
    ],
    [
      'Kafka SASL',
      new (KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error)(
        'SASL PLAIN authentication failed: user tp',
      ),
      'auth refused',
    ],
    ['a Kafka ACL', protocol('TOPIC_AUTHORIZATION_FAILED'), 'not permitted'],
    ['another Kafka protocol error', protocol('LEADER_NOT_AVAILABLE'), 'leader not available'],
    [
      'a batch in LZ4',
      new (KafkaJSNotImplemented as unknown as new (message: string) => Error)(
        'LZ4 compression not implemented',
      ),
      'LZ4 compression not supported',
    ],
    ['a corrupt Snappy batch', new Error('Snappy (xerial): block runs past the end'), 'unreadable batch'],
    [
      'a GZIP bomb',
      new Error('GZIP: batch inflates to more than the 67108864 bytes allowed'),
      'unreadable batch',
    ],
    ['anything else', new Error('something at 10.0.3.7:6379 went wrong'), 'unexpected error'],
    ['not an error', 'a string', 'unexpected error'],
    ['a plain KafkaJSError', new KafkaJSError('Connection error: connect ECONNREFUSED'), 'unexpected error'],
  ])('%s', (_what, err, reason) => {
    expect(faultReason(err)).toBe(reason)
  })

  it('looks through the wrappers: a TradepulseError, kafkajs retries, an aggregate', () => {
    const refused = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 10.0.3.8:9092', {
      code: 'ECONNREFUSED',
    })
    const retries = new KafkaJSNumberOfRetriesExceeded(refused, { retryCount: 5, retryTime: 1000 })
    expect(faultReason(retries)).toBe('unreachable')
    expect(faultReason(normalizeError(retries))).toBe('unreachable')
    expect(
      faultReason(
        Object.assign(new KafkaJSNonRetriableError(protocol('GROUP_AUTHORIZATION_FAILED')), {
          cause: protocol('GROUP_AUTHORIZATION_FAILED'),
        }),
      ),
    ).toBe('not permitted')
    expect(faultReason(normalizeError(new Error('Command timed out')))).toBe('timeout')
    expect(faultReason(new TradepulseError('INFRA_REDIS', 'Redis at 10.0.3.7:6379 is gone'))).toBe(
      'unexpected error',
    )
    expect(
      faultReason(new AggregateError([sock('ECONNREFUSED', 'connect ECONNREFUSED ::1:6379')], 'x')),
    ).toBe('unreachable')
  })

  it("names a clock Kafka refuses, through the runner's wrappers", () => {
    const clock = new KafkaClockError(0, ['t'], protocol('INVALID_TIMESTAMP'))
    expect(faultReason(clock)).toBe('clock ahead of Kafka')
    expect(faultReason(new TradepulseError('INFRA_KAFKA', 'x', { cause: clock }))).toBe(
      'clock ahead of Kafka',
    )
    // A refusal of a timestamp a record was given keeps its type in words.
    expect(faultReason(protocol('INVALID_TIMESTAMP'))).toBe('invalid timestamp')
  })

  it('stops on a cycle of causes', () => {
    const a: Error & { cause?: unknown } = new Error('a')
    a.cause = a
    expect(faultReason(a)).toBe('unexpected error')
  })
})
