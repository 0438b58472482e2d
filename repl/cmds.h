/* cmds.h — the handlers the command table points at, and what they share.
 *
 *   cmd_model.c     new load save model params device seed set
 *   cmd_run.c       tokens run step next continue where reset show explain eval check loss
 *                   logits generate ablate unablate
 *   cmd_pictures.c  attn hist heatmap export dump
 *   cmd_interp.c    lens heads
 *   cmd_grad.c      backward gradcheck
 *   cmd_runs.c      runs snapshot restore diff patch unpatch
 *   cmd_bench.c     bench
 *   train_cmd.c     train
 *   cmd_session.c   clear log history source
 *   lesson.c        lesson   (help, quit: cmd_help.c) */
#ifndef GR_CMDS_H
#define GR_CMDS_H

#include "args.h"
#include "session.h"

#define HANDLER(name) int name(Session *s, const Args *a, GrErr *e)
HANDLER(cmd_help); HANDLER(cmd_quit);
HANDLER(cmd_new); HANDLER(cmd_load); HANDLER(cmd_save); HANDLER(cmd_model); HANDLER(cmd_params);
HANDLER(cmd_device); HANDLER(cmd_seed); HANDLER(cmd_set);
HANDLER(cmd_tokens); HANDLER(cmd_run); HANDLER(cmd_step); HANDLER(cmd_next); HANDLER(cmd_continue);
HANDLER(cmd_where); HANDLER(cmd_reset); HANDLER(cmd_show); HANDLER(cmd_explain); HANDLER(cmd_eval);
HANDLER(cmd_check); HANDLER(cmd_loss); HANDLER(cmd_logits); HANDLER(cmd_generate); HANDLER(cmd_ablate);
HANDLER(cmd_unablate);
HANDLER(cmd_attn); HANDLER(cmd_hist); HANDLER(cmd_heatmap); HANDLER(cmd_dump);
HANDLER(cmd_export_attn); HANDLER(cmd_export_hist); HANDLER(cmd_export_heatmap); HANDLER(cmd_export_logits);
HANDLER(cmd_export_loss); HANDLER(cmd_lens); HANDLER(cmd_export_lens);
HANDLER(cmd_heads); HANDLER(cmd_export_heads); HANDLER(cmd_backward); HANDLER(cmd_gradcheck);
HANDLER(cmd_runs); HANDLER(cmd_snapshot); HANDLER(cmd_restore); HANDLER(cmd_diff); HANDLER(cmd_compare); HANDLER(cmd_patch); HANDLER(cmd_unpatch);
HANDLER(cmd_bench); HANDLER(cmd_train); HANDLER(cmd_lesson);
HANDLER(cmd_models); HANDLER(cmd_clear); HANDLER(cmd_log); HANDLER(cmd_history); HANDLER(cmd_source);
#undef HANDLER

/* Tables the command rows point at (choices and keys computed from other tables). */
const char *model_name_choices(void);      /* cmd_model.c: names `load` finds without a path */
const char *settings_choices(void);        /* cmd_model.c: the keys of `set` */
const FieldDef *settings_table(void);
const char *head_score_choices(void);      /* cmd_interp.c: the scores of `heads --score` */

/* cmd_samples.c: K continuations of ids in one batched pass (generate --samples K);
 * shown is the prompt as printed before each. */
int generate_samples(Session *s, const int *ids, size_t nids, long n, int K, const SampleCfg *c, const char *shown,
                     GrErr *e);

/* ---- shared by the handlers (session.c) ---- */
double now_ms(void);
int need_model(Session *s, GrErr *e);
int need_run(Session *s, GrErr *e);
/* need_run, and the run stepped to its end ("WHO: the run has not finished ..."). */
int need_finished_run(Session *s, const char *who, GrErr *e);
/* The id of the one token text encodes to; -1 with why when it is not one token. */
int session_one_token(Session *s, const char *text, GrErr *e);
VizOpts session_vopts(const Session *s);
/* Labels of the last run's tokens (free with free_labels). */
char **token_labels(Session *s, int n);
void free_labels(char **l, int n);
void session_drop_trace(Session *s);
/* Installs a model and the tokenizer that goes with it (takes ownership of m). */
int session_adopt_model(Session *s, Model *m, const char *chars, const char *name, GrErr *e);
/* A new trace over text (encoded, ablations attached, nothing run yet); the session's
 * own trace is untouched, so a failure leaves it as it was. */
Acts *session_new_trace(Session *s, const char *text, GrErr *e);
/* Replaces the session's trace by a (and its text). */
void session_set_trace(Session *s, Acts *a, const char *text);
/* Loss of the last run's tokens with no ablation (a second forward pass, like for like). */
float session_clean_loss(Session *s);
/* Runs the last run's text again on the current weights (after training or a move). */
int session_rerun(Session *s, GrErr *e);

#endif
