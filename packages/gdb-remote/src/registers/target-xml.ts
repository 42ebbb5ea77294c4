import { REGISTERS, type RegisterDef } from './register-map.js';

/**
 * The target description gdb and lldb fetch with `qXfer:features:read:target.xml` (gdb manual,
 * "Target Descriptions"). One document, no includes, so a client needs a single transfer. The
 * feature names are the ones gdb's amd64 support looks registers up in; the system feature is
 * vmkd's own. `<osabi>none</osabi>` keeps gdb off its Linux shared-library support: a Windows
 * kernel's module list comes from qXfer:libraries:read, which is the "target" solib handler.
 */

const CORE_TYPES = `  <flags id="i386_eflags" size="4">
    <field name="CF" start="0" end="0"/>
    <field name="" start="1" end="1"/>
    <field name="PF" start="2" end="2"/>
    <field name="AF" start="4" end="4"/>
    <field name="ZF" start="6" end="6"/>
    <field name="SF" start="7" end="7"/>
    <field name="TF" start="8" end="8"/>
    <field name="IF" start="9" end="9"/>
    <field name="DF" start="10" end="10"/>
    <field name="OF" start="11" end="11"/>
    <field name="NT" start="14" end="14"/>
    <field name="RF" start="16" end="16"/>
    <field name="VM" start="17" end="17"/>
    <field name="AC" start="18" end="18"/>
    <field name="VIF" start="19" end="19"/>
    <field name="VIP" start="20" end="20"/>
    <field name="ID" start="21" end="21"/>
  </flags>
`;

const SSE_TYPES = `  <flags id="i386_mxcsr" size="4">
    <field name="IE" start="0" end="0"/>
    <field name="DE" start="1" end="1"/>
    <field name="ZE" start="2" end="2"/>
    <field name="OE" start="3" end="3"/>
    <field name="UE" start="4" end="4"/>
    <field name="PE" start="5" end="5"/>
    <field name="DAZ" start="6" end="6"/>
    <field name="IM" start="7" end="7"/>
    <field name="DM" start="8" end="8"/>
    <field name="ZM" start="9" end="9"/>
    <field name="OM" start="10" end="10"/>
    <field name="UM" start="11" end="11"/>
    <field name="PM" start="12" end="12"/>
    <field name="FZ" start="15" end="15"/>
  </flags>
  <vector id="v4f" type="ieee_single" count="4"/>
  <vector id="v2d" type="ieee_double" count="2"/>
  <vector id="v16i8" type="int8" count="16"/>
  <vector id="v8i16" type="int16" count="8"/>
  <vector id="v4i32" type="int32" count="4"/>
  <vector id="v2i64" type="int64" count="2"/>
  <union id="vec128">
    <field name="v4_float" type="v4f"/>
    <field name="v2_double" type="v2d"/>
    <field name="v16_int8" type="v16i8"/>
    <field name="v8_int16" type="v8i16"/>
    <field name="v4_int32" type="v4i32"/>
    <field name="v2_int64" type="v2i64"/>
    <field name="uint128" type="uint128"/>
  </union>
`;

const FEATURES: readonly { readonly id: RegisterDef['feature']; readonly name: string }[] = [
  { id: 'core', name: 'org.gnu.gdb.i386.core' },
  { id: 'sse', name: 'org.gnu.gdb.i386.sse' },
  { id: 'segments', name: 'org.gnu.gdb.i386.segments' },
  { id: 'system', name: 'org.vmkd.windows.system' },
];

function registerXml(def: RegisterDef, regnum: number): string {
  const group = def.group === undefined ? '' : ` group="${def.group}"`;
  return `    <reg name="${def.name}" bitsize="${def.bits}" type="${def.type}" regnum="${regnum}"${group}/>\n`;
}

function build(): string {
  let xml = '<?xml version="1.0"?>\n<!DOCTYPE target SYSTEM "gdb-target.dtd">\n<target version="1.0">\n  <architecture>i386:x86-64</architecture>\n  <osabi>none</osabi>\n';
  for (const feature of FEATURES) {
    xml += `  <feature name="${feature.name}">\n`;
    // gdb looks a register's type up in its own feature (then the predefined types).
    if (feature.id === 'core') xml += CORE_TYPES;
    if (feature.id === 'sse') xml += SSE_TYPES;
    REGISTERS.forEach((def, i) => {
      if (def.feature === feature.id) xml += registerXml(def, i);
    });
    xml += '  </feature>\n';
  }
  return `${xml}</target>\n`;
}

export const TARGET_XML: string = build();
