/**
 * Child-process probe: is this a VMware guest? Prints one JSON line `{ vmware, detail }`.
 */
const mod = (await import('@vmkd/vmware-backdoor')) as Record<string, unknown>;
const detect = mod['detectVmware'];
let result: { vmware: boolean; detail: string };
if (typeof detect !== 'function') {
  result = { vmware: false, detail: 'this build of @vmkd/vmware-backdoor has no detectVmware()' };
} else {
  const detection = (await (detect as () => Promise<unknown>)()) as Record<string, unknown>;
  const why = detection['reason'] ?? detection['detail'];
  result = { vmware: detection['vmware'] === true, detail: typeof why === 'string' ? why : JSON.stringify(detection) };
}
process.stdout.write(`${JSON.stringify(result)}\n`);
