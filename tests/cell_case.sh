# Sourced by tests/ckpt.sh and tests/faults.sh: the unit-cell case both interrupt and resume.
# cell_case FILE SIMULATE GRID writes it to FILE with the given `simulate:` and `grid:` mappings
# (cheek, 35 years, Fitzpatrick 2; pen-12 at 1.0 mm, two crossed passes; one solver thread).
cell_case() {
  cat >"$1" <<YAML
seed: 9
skin: {region: cheek, age_y: 35, fitzpatrick: 2}
device: {model: pen-12, depth_mm: 1.0}
treatment: {passes: [{speed_mm_per_s: 120}, {direction: vertical, speed_mm_per_s: 120}]}
simulate: $2
grid: $3
solver: {threads: 1}
YAML
}
