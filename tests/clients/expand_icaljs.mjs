// Expand each VEVENT of each file with ical.js (the parser in Thunderbird and Nextcloud) and print
// {"file": [UTC seconds of every instance starting before END]} as JSON. argv: ICAL_PATH END file...
const [, , icalPath, end, ...files] = process.argv;
const ICAL = (await import(icalPath)).default;
const fs = await import("node:fs");
const out = {};
for (const file of files) {
  const cal = new ICAL.Component(ICAL.parse(fs.readFileSync(file, "utf8")));
  const event = new ICAL.Event(cal.getFirstSubcomponent("vevent"));
  if (event.startDate.zone.tzid === "floating") throw new Error(`${file}: DTSTART zone not resolved`);
  const it = event.iterator();
  const starts = [];
  for (let next = it.next(); next; next = it.next()) {
    const t = next.toUnixTime();
    if (t >= Number(end)) break;
    starts.push(t);
  }
  out[file] = starts;
}
console.log(JSON.stringify(out));
