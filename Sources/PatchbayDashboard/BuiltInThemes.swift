/// The shipped themes, byte for byte the files in `themes/` (a test keeps them equal).
enum BuiltInThemes {
    static let dark = #"""
# Patchbay's default theme (dark terminals). Colours: "#rrggbb", 0-255, ANSI names, or default;
# append +bold, +dim, +underline or +reverse.
name: default
colors:
  text: default
  muted: "#808080"
  accent: "#5fafff"
  ok: "#5fd75f"
  warn: "#ffd75f"
  error: "#ff5f5f +bold"
  retrying: "#ffaf00"
  dead: "#ff5f5f"
  border: "#585858"
  focused_border: "#5fafff"
  title: "#5fafff +bold"
  header: "#d0d0d0 +bold"
  selection_fg: "#000000"
  selection_bg: "#5fafff"
  marked: "#ffd75f +bold"
  series_received: "#5fafff"
  series_delivered: "#5fd75f"
  series_failed: "#ff5f5f"
  status_fg: "#d0d0d0"
  status_bg: "#303030"
  key: "#5fafff +bold"
"""#

    static let light = #"""
# For light terminal backgrounds.
name: light
colors:
  text: default
  muted: "#6c6c6c"
  accent: "#005fd7"
  ok: "#008700"
  warn: "#af8700"
  error: "#d70000 +bold"
  retrying: "#af5f00"
  dead: "#d70000"
  border: "#a8a8a8"
  focused_border: "#005fd7"
  title: "#005fd7 +bold"
  header: "#1c1c1c +bold"
  selection_fg: "#ffffff"
  selection_bg: "#005fd7"
  marked: "#af5f00 +bold"
  series_received: "#005fd7"
  series_delivered: "#008700"
  series_failed: "#d70000"
  status_fg: "#1c1c1c"
  status_bg: "#dadada"
  key: "#005fd7 +bold"
"""#

    static let highContrast = #"""
# Maximum contrast: bright ANSI colours and bold text, readable on any background and projector.
name: high-contrast
colors:
  text: bright_white
  muted: white
  accent: bright_cyan +bold
  ok: bright_green +bold
  warn: bright_yellow +bold
  error: bright_red +bold
  retrying: bright_yellow +bold
  dead: bright_red +bold +underline
  border: bright_white
  focused_border: bright_yellow +bold
  title: bright_white +bold +underline
  header: bright_white +bold
  selection_fg: black
  selection_bg: bright_yellow
  marked: bright_magenta +bold
  series_received: bright_cyan
  series_delivered: bright_green
  series_failed: bright_red
  status_fg: black
  status_bg: bright_white
  key: bright_yellow +bold
"""#

    static let mono = #"""
# No colour at all: used when NO_COLOR is set or the terminal has no colours. Emphasis by attributes.
name: mono
colors:
  text: default
  muted: default +dim
  accent: default +bold
  ok: default
  warn: default +bold
  error: default +bold +underline
  retrying: default +bold
  dead: default +bold +underline
  border: default +dim
  focused_border: default +bold
  title: default +bold
  header: default +bold +underline
  selection_fg: default +reverse
  selection_bg: default
  marked: default +bold
  series_received: default
  series_delivered: default
  series_failed: default +bold
  status_fg: default +reverse
  status_bg: default
  key: default +bold
"""#

}
