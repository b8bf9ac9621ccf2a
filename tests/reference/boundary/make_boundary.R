# lme4 fits of the random correlated-slope designs of make_designs.py (tests/reml/test_boundary.py).
#
# Run from the repository root:
#   cd tests/reference/boundary && OPENBLAS_NUM_THREADS=1 LC_ALL=C Rscript --vanilla make_boundary.R
# Reads designs.csv and index.csv beside this script and writes boundary.json there: per design
# the criterion (REMLcrit for REML fits, -2 logLik for ML), theta (relative Cholesky factor, lme4's
# order), sigma, isSingular, fixed effects and the variance components. bobyqa with a tight rhoend
# (and a large maxfun) so that the optimum is found to about 1e-10 in theta. lmerTest's Satterthwaite
# df of the fixed effects at that fit (as_lmerModLmerTest).

invisible(Sys.setlocale("LC_COLLATE", "C"))
suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)   # Satterthwaite df of the same fit (as_lmerModLmerTest); lme4::lmer is called explicitly
})

args <- commandArgs(trailingOnly = FALSE)
script_file <- sub("^--file=", "", args[grepl("^--file=", args)])
here <- if (length(script_file)) dirname(normalizePath(script_file)) else getwd()
source(file.path(here, "..", "json_writer.R"))

CONTROL <- lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5, rhoend = 1e-12),
                       check.conv.singular = "ignore")

data <- read.csv(file.path(here, "designs.csv"), colClasses = c(design = "character", g = "character",
                                                                 h = "character"))
index <- read.csv(file.path(here, "index.csv"), colClasses = c(design = "character", formula = "character",
                                                                REML = "logical"))

fit_one <- function(spec) {
  d <- data[data$design == spec$design, ]
  d$g <- factor(d$g)
  if (grepl("\\| h", spec$formula)) d$h <- factor(d$h)
  m <- lme4::lmer(as.formula(spec$formula), data = d, REML = spec$REML, control = CONTROL)
  df <- tryCatch(unname(coef(summary(as_lmerModLmerTest(m)))[, "df"]), error = function(e) NULL)
  vc <- as.data.frame(VarCorr(m), order = "lower.tri")
  list(
    formula = spec$formula,
    REML = spec$REML,
    truth = spec$truth,
    nobs = nobs(m),
    criterion = if (spec$REML) REMLcrit(m) else -2 * as.numeric(logLik(m)),
    theta = arr(unname(getME(m, "theta"))),
    theta_names = arr(names(getME(m, "theta"))),
    lower = arr(getME(m, "lower")),
    sigma = sigma(m),
    isSingular = isSingular(m),
    min_relative_diag = min(getME(m, "theta")[getME(m, "lower") == 0]),
    fixef = list(names = arr(names(fixef(m))), estimate = arr(unname(fixef(m))),
                 satterthwaite_df = if (is.null(df)) NULL else arr(df)),
    varcorr = list(grp = arr(vc$grp), var1 = arr(vc$var1), var2 = arr(vc$var2), vcov = arr(vc$vcov)),
    feval = m@optinfo$feval
  )
}

out <- list(
  description = paste("lme4 fits of the designs in designs.csv (index.csv), bobyqa rhoend 1e-12.",
                      "criterion: REMLcrit (REML) or -2 logLik (ML). isSingular: lme4's isSingular(),",
                      "a relative Cholesky diagonal below 1e-4."),
  versions = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                  lmerTest = as.character(packageVersion("lmerTest")),
                  Matrix = as.character(packageVersion("Matrix"))),
  control = list(optimizer = "bobyqa", maxfun = 1e5, rhoend = 1e-12),
  designs = list()
)
for (i in seq_len(nrow(index))) {
  spec <- index[i, ]
  out$designs[[spec$design]] <- fit_one(spec)
}
write_json_file(out, file.path(here, "boundary.json"))
