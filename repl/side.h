/* side.h — the TUI's side panel: the model, the settings, the ablations, the last run and
 * the stage list with the cursor. */
#ifndef GR_SIDE_H
#define GR_SIDE_H

#include "screen.h"
#include "session.h"

/* Draws the panel in the area (top, x)..(bottom, x + w), a rule at x - 1. */
void side_draw(const Screen *sc, Session *s, int top, int bottom, int x, int w);

#endif
