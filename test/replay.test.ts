import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process'
import { createWriteStream, mkdtempSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { finished } from 'node:stream/promises'
import { promisify } from 'node:util'
import { createTopicCatalogue, listTopics } from '@tradepulse/contracts'
import { collectTopic, createTopics, REPO_ROOT, randomName, testInfra, waitFor } from '@tradepulse/testing'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)

describe('tradepulse replay and topics create', () => {
  const { kafkaBrokers } = testInfra()

  it('creates the catalogue idempotently, then replays a file at a rate, skipping bad rows by line number', async () => {
    const prefix = `${randomName('replay')}.`
    const env = {
      ...process.env,
      KAFKA_BROKERS: kafkaBrokers.join(','),
      TRADEPULSE_TOPIC_PREFIX: prefix,
      LOG_PRETTY: 'false',
    }
    const cli = join(REPO_ROOT, 'packages/cli/src/main.ts')
    const first = await run(process.execPath, [cli, 'topics', 'create'], { env })
    expect(first.stdout.match(/^created /gm)).toHaveLength(listTopics(createTopicCatalogue(prefix)).length)
    const again = await run(process.execPath, [cli, 'topics', 'create'], { env })
    expect(again.stdout).not.toMatch(/^created /m)

    const file = join(mkdtempSync(join(tmpdir(), 'replay-')), 'feed.ndjson')
    const good = Array.from({ length: 40 }, (_, i) =>
      JSON.stringify({ id: `r${i}`, headline: `Headline ${i}` }),
    )
    writeFileSync(file, [...good.slice(0, 10), 'not json', ...good.slice(10), '[1,2]'].join('\n'))
    const t0 = Date.now()
    // Bad rows make replay exit 65 (EX_DATAERR), once every good row is sent: execFile rejects then.
    const res = await run(process.execPath, [cli, 'replay', file, '--rate', '100'], { env }).catch(
      (err: { code?: number; stdout: string; stderr: string }) => err,
    )
    expect((res as { code?: number }).code).toBe(65)
    const seconds = (Date.now() - t0) / 1_000
    expect(res.stderr).toMatch(/feed\.ndjson:11: skipped: invalid JSON/)
    expect(res.stderr).toMatch(/feed\.ndjson:42: skipped: not a JSON object/)
    expect(res.stderr).toMatch(/40 produced to .*headlines\.raw\.v1, 2 bad row\(s\) skipped \(lines 11, 42\)/)
    // 40 headlines at 100/s cannot finish in much under 0.4 s: the rate was applied.
    expect(seconds).toBeGreaterThan(0.35)
    const raw = await collectTopic(kafkaBrokers, createTopicCatalogue(prefix).raw.name)
    await waitFor(() => raw.messages.length >= 40, { what: '40 raw records' })
    await raw.stop()
    expect(new Set(raw.messages.map((m) => m.key))).toEqual(new Set(good.map((_, i) => `r${i}`)))
  })

  /** The CLI replaying `file` to a fresh topic, spawned by Node with stdio 'pipe': its stdin is a socket. */
  async function spawnReplay(file: string, args: string[] = []) {
    const prefix = `${randomName('replay-stream')}.`
    const topic = createTopicCatalogue(prefix).raw.name
    await createTopics(kafkaBrokers, [{ name: topic }])
    const child = spawn(
      process.execPath,
      [join(REPO_ROOT, 'packages/cli/src/main.ts'), 'replay', file, ...args],
      {
        env: { ...process.env, KAFKA_BROKERS: kafkaBrokers.join(','), TRADEPULSE_TOPIC_PREFIX: prefix },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    )
    const output = { err: '' }
    child.stderr?.on('data', (d) => {
      output.err += d
    })
    const exit: { code?: number | null } = {}
    child.once('exit', (code) => {
      exit.code = code
    })
    const exited = () =>
      waitFor(() => exit.code !== undefined && exit, { timeoutMs: 30_000, what: `replay ${file} to exit` })
    const raw = await collectTopic(kafkaBrokers, topic)
    return { child, output, exited, raw, topic }
  }
  const stop = async (child: ChildProcess, raw: { stop(): Promise<void> }) => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await raw.stop()
  }
  const headlinesOf = (messages: { value: Buffer | null }[]) =>
    messages.map((m) => (JSON.parse(String(m.value)) as { headline: string }).headline)

  it('replays stdin given as a socket (a Node parent spawning it with stdio pipe), named /dev/stdin, as it comes', async () => {
    // It was refused as "not a file: /dev/stdin" (exit 78): a socket is neither a file nor a pipe by stat.
    // --batch 1: a row is sent once it is read (by default rows wait for a batch of 500 or the end).
    const { child, output, exited, raw } = await spawnReplay('/dev/stdin', ['--batch', '1'])
    try {
      child.stdin?.write(`${JSON.stringify({ id: 's1', headline: 'Steel tariffs rise' })}\n`)
      // Sent while stdin is still open: read as a stream, as a pipe is, not held to its end.
      await waitFor(() => raw.messages.length >= 1, { timeoutMs: 30_000, what: 'the first line produced' })
      child.stdin?.end(`${JSON.stringify({ id: 's2', headline: 'Ports reopen' })}\n`)
      const { code } = await exited()
      expect(code, output.err).toBe(0)
      expect(output.err).toMatch(/replay: 2 produced to .*headlines\.raw\.v1, 0 bad row\(s\) skipped/)
      await waitFor(() => raw.messages.length >= 2, { timeoutMs: 30_000, what: '2 raw records' })
      expect(raw.messages.map((m) => m.key)).toEqual(['s1', 's2'])
    } finally {
      await stop(child, raw)
    }
  })

  it('replays a CSV on a socket stdin named -, its header checked and its rows sent in the order they come', async () => {
    const { child, output, exited, raw } = await spawnReplay('-')
    try {
      child.stdin?.end('date,headline\n2020-01-02,Ports reopen\n2020-01-01,Steel tariffs rise\n')
      const { code } = await exited()
      expect(code, output.err).toBe(0)
      expect(output.err).toMatch(/replay: 2 produced to .*, 0 bad row\(s\) skipped/)
      await waitFor(() => raw.messages.length >= 2, { timeoutMs: 30_000, what: '2 raw records' })
      expect(headlinesOf(raw.messages)).toEqual(['Ports reopen', 'Steel tariffs rise'])
    } finally {
      await stop(child, raw)
    }
  })

  it('sends a CSV row ended by a lone CR (old Mac line ends) from a live pipe at once, not when the next chunk comes', async () => {
    // A CR at the end of what the pipe had sent may be the first half of a CRLF: the row waited for the
    // writer's next chunk (the next row, maybe much later) to tell.
    const { child, output, exited, raw } = await spawnReplay('-')
    try {
      child.stdin?.write('date,headline\r2020-01-01,Steel tariffs rise\r')
      await waitFor(() => raw.messages.length >= 1, {
        timeoutMs: 30_000,
        what: 'the row ended by a CR, nothing after it yet',
      })
      // It was the first half of a CRLF: the LF is its line end's, no blank line of its own.
      child.stdin?.end('\n2020-01-02,Ports reopen\r')
      const { code } = await exited()
      expect(code, output.err).toBe(0)
      expect(output.err).toMatch(/replay: 2 produced to .*, 0 bad row\(s\) skipped/)
      await waitFor(() => raw.messages.length >= 2, { timeoutMs: 30_000, what: '2 raw records' })
      expect(headlinesOf(raw.messages)).toEqual(['Steel tariffs rise', 'Ports reopen'])
    } finally {
      await stop(child, raw)
    }
  })

  it('skips a row that is not valid UTF-8 before a line of a byte-order mark only after a lone CR, sending the rest', async () => {
    // Files joined with `cat`: the first ends in a lone CR, the second is empty but for its mark. The
    // mark skipped, its LF and the CR before read as one CRLF: the row before was placed on the mark's
    // line, where no bad line was, and sent with U+FFFD in place of its bad bytes (then named at the end).
    const prefix = `${randomName('replay-bom')}.`
    const topic = createTopicCatalogue(prefix).raw.name
    await createTopics(kafkaBrokers, [{ name: topic }])
    const file = join(mkdtempSync(join(tmpdir(), 'replay-bom-')), 'joined.csv')
    const bom = Buffer.from([0xef, 0xbb, 0xbf])
    writeFileSync(
      file,
      Buffer.concat([
        Buffer.from('date,headline\r2020-01-01,Copper\r2020-01-02,Tin \xff\r', 'latin1'),
        bom,
        Buffer.from('\n2020-01-03,Lead\r'),
        bom,
        Buffer.from('\n'),
      ]),
    )
    const env = { ...process.env, KAFKA_BROKERS: kafkaBrokers.join(','), TRADEPULSE_TOPIC_PREFIX: prefix }
    const res = await run(process.execPath, [join(REPO_ROOT, 'packages/cli/src/main.ts'), 'replay', file], {
      env,
    }).catch((err: { code?: number; stdout: string; stderr: string }) => err)
    expect((res as { code?: number }).code, res.stderr).toBe(65)
    expect(res.stderr).toMatch(/joined\.csv:3: skipped: line is not valid UTF-8\n/)
    expect(res.stderr).toMatch(/replay: 2 produced to .*, 1 bad row\(s\) skipped \(lines 3\)/)
    const raw = await collectTopic(kafkaBrokers, topic)
    try {
      await waitFor(() => raw.messages.length >= 2, { timeoutMs: 30_000, what: '2 raw records' })
      expect(headlinesOf(raw.messages)).toEqual(['Copper', 'Lead'])
    } finally {
      await raw.stop()
    }
  })

  it('paces the rows of a live pipe after a quiet spell at --rate, not all at once', async () => {
    // Paced from the first send, the rows that came after a quiet spell went at once, as many as should
    // have gone during it.
    const { child, output, exited, raw } = await spawnReplay('-', ['--rate', '20'])
    try {
      child.stdin?.write(`${JSON.stringify({ id: 'q0', headline: 'Steel tariffs rise' })}\n`)
      await waitFor(() => raw.messages.length >= 1, { timeoutMs: 30_000, what: 'the first row' })
      // The quiet spell (a pause the test makes, not a condition waited for): 20 rows' time at 20 a second.
      await new Promise((resolve) => setTimeout(resolve, 1_000))
      const rows = Array.from({ length: 10 }, (_, i) =>
        JSON.stringify({ id: `q${i + 1}`, headline: `Row ${i}` }),
      )
      child.stdin?.end(`${rows.join('\n')}\n`)
      const { code } = await exited()
      expect(code, output.err).toBe(0)
      await waitFor(() => raw.messages.length >= 11, { timeoutMs: 30_000, what: '11 raw records' })
      // 20 a second is a row every 50 ms (batches of one): the 10 take 450 ms from the first's send.
      const sentAt = raw.messages.slice(1).map((m) => m.timestamp)
      expect(sentAt[9]! - sentAt[0]!).toBeGreaterThanOrEqual(440)
      expect(raw.messages.map((m) => m.key)).toEqual(Array.from({ length: 11 }, (_, i) => `q${i}`))
    } finally {
      await stop(child, raw)
    }
  })

  it('waits on a named pipe with no writer yet, then replays what its writer sends', async () => {
    // A named pipe is opened without waiting for a writer (so Kafka can be checked meanwhile): its first
    // read must still wait for the writer, not take the missing writer for the end of the input.
    const fifo = join(mkdtempSync(join(tmpdir(), 'replay-fifo-')), 'feed.fifo')
    execFileSync('mkfifo', [fifo])
    const { child, output, exited, raw } = await spawnReplay(fifo)
    try {
      // The replay holds the pipe open (Linux: its descriptors in /proc), no writer having come.
      await waitFor(
        () =>
          child.exitCode === null &&
          readdirSync(`/proc/${child.pid}/fd`).some((fd) => {
            try {
              return readlinkSync(`/proc/${child.pid}/fd/${fd}`) === fifo
            } catch {
              return false
            }
          }),
        { timeoutMs: 30_000, what: 'the replay to open the named pipe' },
      )
      expect(output.err).toBe('')
      const writer = createWriteStream(fifo)
      writer.end('date,headline\n2020-01-01,Steel tariffs rise\n2020-01-02,Ports reopen\n')
      await finished(writer)
      const { code } = await exited()
      expect(code, output.err).toBe(0)
      await waitFor(() => raw.messages.length >= 2, { timeoutMs: 30_000, what: '2 raw records' })
      expect(headlinesOf(raw.messages)).toEqual(['Steel tariffs rise', 'Ports reopen'])
    } finally {
      await stop(child, raw)
    }
  })
})
