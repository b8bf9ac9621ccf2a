# Which small designs lme4 refuses before fitting (lmerControl's default checks) and which it fits.
#
# Run from tests/reference:  LC_ALL=C Rscript --vanilla make_lme4_checks.R   (also run by `make references`)
# Writes lme4_checks.json: per case the sleepstudy rows used (0-based, as pandas' iloc), the formula,
# whether lme4::lmer stopped ("error") or fitted ("ok"), and lme4's message; where it fits, the REML
# criterion and isSingular of a tight fit (bobyqa, rhoend = 1e-12). Columns added to
# sleepstudy: obs (one level per row, "r0", "r1", ...) and f (letters, for fixed-effect counts).
# Tests read the JSON (tests/test_bad_input.py) and never need R.

invisible(Sys.setlocale("LC_COLLATE", "C"))
suppressPackageStartupMessages(library(lme4))
args <- commandArgs(trailingOnly = FALSE)
script_file <- sub("^--file=", "", args[grepl("^--file=", args)])
here <- if (length(script_file)) dirname(normalizePath(script_file)) else getwd()
source(file.path(here, "json_writer.R"))

sleep <- read.csv(file.path(here, "..", "data", "sleepstudy.csv"), colClasses = c(Subject = "character"))
sleep$obs <- paste0("r", seq_len(nrow(sleep)) - 1L)

cases <- list(
  list(name = "level_per_observation", rows = seq_len(nrow(sleep)) - 1L,
       formula = "Reaction ~ Days + (1|obs)"),
  list(name = "level_per_observation_beside_subject", rows = seq_len(nrow(sleep)) - 1L,
       formula = "Reaction ~ Days + (1|Subject) + (1|obs)"),
  list(name = "one_record", rows = 0L, formula = "Reaction ~ Days + (1|Subject)"),
  list(name = "two_records_two_subjects", rows = c(0L, 10L), formula = "Reaction ~ Days + (1|Subject)"),
  list(name = "three_records_two_subjects", rows = c(0L, 1L, 10L), formula = "Reaction ~ Days + (1|Subject)"),
  list(name = "five_records_five_subjects_slopes", rows = c(0L, 10L, 20L, 30L, 40L),
       formula = "Reaction ~ Days + (Days|Subject)"),
  list(name = "five_records_two_subjects_slopes", rows = c(0L, 1L, 10L, 11L, 12L),
       formula = "Reaction ~ Days + (Days|Subject)"),
  list(name = "random_effects_equal_observations", rows = which(sleep$Days < 2) - 1L,
       formula = "Reaction ~ Days + (Days|Subject)"),
  list(name = "random_effects_one_below_observations", rows = sort(c(which(sleep$Days < 2), 3L)) - 1L,
       formula = "Reaction ~ Days + (Days|Subject)"),
  list(name = "uncorrelated_terms_below_observations", rows = which(sleep$Days < 2) - 1L,
       formula = "Reaction ~ Days + (Days||Subject)"),
  list(name = "fixed_effects_equal_observations", rows = c(0L, 1L, 10L, 11L, 20L, 21L), f = letters[1:6],
       formula = "Reaction ~ f + (1|Subject)"),
  list(name = "fixed_effects_one_below_observations", rows = c(0L, 1L, 10L, 11L, 20L, 21L),
       f = c("a", "b", "c", "d", "e", "e"), formula = "Reaction ~ f + (1|Subject)")
)

run_case <- function(case) {
  d <- sleep[case$rows + 1L, , drop = FALSE]
  d$f <- if (is.null(case[["f"]])) "a" else case[["f"]]
  res <- tryCatch(suppressWarnings(suppressMessages(lme4::lmer(as.formula(case$formula), d))),
                  error = function(e) e)
  out <- list(name = case$name, rows = arr(case$rows), formula = case$formula,
              lme4 = if (inherits(res, "error")) "error" else "ok",
              message = if (inherits(res, "error")) conditionMessage(res) else "")
  if (!is.null(case[["f"]])) out$f <- arr(case[["f"]])
  if (!inherits(res, "error")) {  # where lme4 fits: its tight optimum (bobyqa, rhoend 1e-12)
    tight <- suppressWarnings(suppressMessages(lme4::lmer(as.formula(case$formula), d,
      control = lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12)))))
    out$REMLcrit <- REMLcrit(tight)
    out$singular <- isSingular(tight)
  }
  out
}

write_json_file(list(
  description = paste("lme4::lmer with default lmerControl on subsets of sleepstudy: 'error' where lme4",
                      "stops before fitting (check.nlev.gtr.1, check.nobs.vs.nlev, check.nobs.vs.nRE, or n = p)."),
  lme4 = as.character(packageVersion("lme4")),
  cases = lapply(cases, run_case)), file.path(here, "lme4_checks.json"))
