// Drives gtp_server.py through Sabaki's own GTP client library (@sabaki/gtp):
// plays moves, runs lz-analyze and kata-analyze (with ownership) for a while, interrupts
// each the way Sabaki does (by sending the next command) and parses the info lines.
// Prints a JSON summary.
// usage: node e2e.js PYTHON GTP_SERVER [engine args...]
const {Controller} = require('@sabaki/gtp')

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function parseInfo(line) {
  // one line holds many "info move X visits N winrate W prior P lcb L order O pv ..." parts
  return line.split(/(?=info move )/).filter((s) => s.startsWith('info')).map((part) => {
    const tok = part.trim().split(/\s+/)
    const get = (k) => tok[tok.indexOf(k) + 1]
    const pv = tok.slice(tok.indexOf('pv') + 1)
    return {move: get('move'), visits: +get('visits'), winrate: +get('winrate'),
            prior: +get('prior'), lcb: +get('lcb'), order: +get('order'), pv}
  })
}

function parseKata(line) {
  // KataGo's format: "info" then key value pairs (floats), "pv" runs to the next "info";
  // an optional "ownership" block of n*n floats ends the line
  const [body, own] = line.split(/\bownership\b/)
  const infos = body.split(/\binfo\b/).map((s) => s.trim()).filter(Boolean).map((part) => {
    const tok = part.split(/\s+/)
    const pvAt = tok.indexOf('pv')
    const info = {pv: tok.slice(pvAt + 1)}
    for (let i = 0; i + 1 < pvAt; i += 2) info[tok[i]] = tok[i] === 'move' ? tok[i + 1] : +tok[i + 1]
    return info
  })
  const ownership = own === undefined ? null : own.trim().split(/\s+/).map(Number)
  return {infos, ownership}
}

async function main() {
  const [python, server, ...args] = process.argv.slice(2)
  const engine = new Controller(python, [server, ...args])
  engine.start()
  const out = {errors: []}
  const send = async (name, ...cmdArgs) => {
    const res = await engine.sendCommand({name, args: cmdArgs})
    if (res.error) out.errors.push(`${name}: ${res.content}`)
    return res
  }
  out.name = (await send('name')).content
  out.analyzeListed = (await send('list_commands')).content.split('\n').includes('lz-analyze')
  await send('boardsize', '9')
  await send('clear_board')
  await send('komi', '7')
  await send('play', 'B', 'E5')
  out.genmove = (await send('genmove', 'W')).content
  const infos = []
  const analysis = engine.sendCommand({name: 'lz-analyze', args: ['B', '20']}, ({line}) => {
    if (line.startsWith('info')) infos.push(...parseInfo(line))
  })
  await sleep(1500)
  out.afterAnalysis = (await send('name')).content  // interrupts the analysis
  const ares = await analysis
  out.analysisError = ares.error
  out.infos = infos.length
  out.first = infos[0] || null
  const kata = []
  let ownership = null
  const kataRun = engine.sendCommand({name: 'kata-analyze', args: ['B', '20', 'ownership', 'true']},
    ({line}) => {
      if (!line.startsWith('info')) return
      const parsed = parseKata(line)
      kata.push(...parsed.infos)
      if (parsed.ownership) ownership = parsed.ownership
    })
  await sleep(1500)
  out.afterKata = (await send('name')).content
  out.kataError = (await kataRun).error
  out.kataInfos = kata.length
  out.kataFirst = kata[0] || null
  out.ownership = ownership
  out.kataListed = (await send('list_commands')).content.split('\n').includes('kata-analyze')
  out.illegal = (await engine.sendCommand({name: 'play', args: ['B', 'E5']})).content
  await engine.stop()
  console.log(JSON.stringify(out))
}

main().catch((err) => { console.error(err); process.exit(1) })
