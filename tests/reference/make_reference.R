# Reference values from lme4 / lmerTest / pbkrtest / emmeans for henderson's tests.
#
# Run from the repository root with `make references`, or
#   cd tests/reference && OPENBLAS_NUM_THREADS=1 LC_ALL=C Rscript --vanilla make_reference.R [--skip-insteval]
# (single-threaded BLAS makes the output bit-for-bit reproducible; with threads, flat optima such
# as Penicillin's move by ~1e-6 in theta between runs)
# Reads tests/data/*.csv and writes, into tests/reference/:
#   model_matrices.json   X, Z (dense), Z column labels, grouping-factor levels
#   fits.json             REML and ML fits of the small models
#   fits_insteval.json    REML and ML fits of InstEval (about a minute)
#   inference.json        lmerTest Satterthwaite / Kenward-Roger, profile and Wald CIs, emmeans, LRT parts
# Tests never need R; this script documents where the expected values come from.
#
# Conventions: every grouping/factor column is read as character and converted with factor(),
# so with LC_ALL=C the level order equals Python's sorted() on the string labels. Matrices are
# written row-major (a list of rows). Numbers keep full double precision; NA/NaN/Inf -> null.

invisible(Sys.setlocale("LC_COLLATE", "C"))
suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)   # masks lme4::lmer; lme4 fits below call lme4::lmer explicitly
  library(pbkrtest)
  library(emmeans)
})

args <- commandArgs(trailingOnly = FALSE)
script_file <- sub("^--file=", "", args[grepl("^--file=", args)])
here <- if (length(script_file)) dirname(normalizePath(script_file)) else getwd()
source(file.path(here, "json_writer.R"))
data_dir <- normalizePath(file.path(here, "..", "data"))
skip_insteval <- "--skip-insteval" %in% commandArgs(trailingOnly = TRUE)

CONTROL <- lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5, rhoend = 1e-12))
CONTROL_DESC <- list(optimizer = "bobyqa", maxfun = 1e5, rhoend = 1e-12)

# ---------------------------------------------------------------------------------------------
# data

read_data <- function(file, factors) {
  cc <- setNames(rep("character", length(factors)), factors)
  d <- read.csv(file.path(data_dir, file), colClasses = cc, stringsAsFactors = FALSE)
  for (f in factors) d[[f]] <- factor(d[[f]])
  d
}

DATA <- list(
  sleepstudy = read_data("sleepstudy.csv", "Subject"),
  Penicillin = read_data("Penicillin.csv", c("plate", "sample")),
  Pastes     = read_data("Pastes.csv", c("batch", "cask", "sample")),
  Dyestuff   = read_data("Dyestuff.csv", "Batch"),
  Dyestuff2  = read_data("Dyestuff2.csv", "Batch"),
  oats       = read_data("oats.csv", c("B", "V", "N")),
  cake       = read_data("cake.csv", c("replicate", "recipe", "temperature"))
)
DATA$Penicillin$half <- factor(ifelse(as.character(DATA$Penicillin$plate) <= "l", "first", "second"))

FACTOR_NOTES <- list(
  general = paste("All grouping and factor columns read as character and converted with factor();",
                  "LC_ALL=C, so levels are sorted like Python's sorted() on strings.",
                  "Factors use treatment contrasts (contr.treatment), first level = reference."),
  cake = "temperature is an UNORDERED factor (treatment contrasts, reference '175'); temp is numeric.",
  oats = "B, V, N are unordered factors.",
  Penicillin_half = "half = 'first' for plates a..l, 'second' for plates m..x (inference.json only)."
)

versions <- function() list(
  R = R.version.string,
  lme4 = as.character(packageVersion("lme4")),
  lmerTest = as.character(packageVersion("lmerTest")),
  pbkrtest = as.character(packageVersion("pbkrtest")),
  emmeans = as.character(packageVersion("emmeans")),
  Matrix = as.character(packageVersion("Matrix")),
  locale_collate = Sys.getlocale("LC_COLLATE")
)

fit_lme4 <- function(formula, data, REML) {
  lme4::lmer(as.formula(formula), data = data, REML = REML, control = CONTROL)
}

# ---------------------------------------------------------------------------------------------
# (a) model matrices

z_columns <- function(m) {
  cnms <- m@cnms
  fl <- getME(m, "flist")
  asgn <- attr(fl, "assign")
  cols <- list(term = character(), term_index = integer(), group = character(),
               effect = character(), level = character())
  for (i in seq_along(cnms)) {
    levs <- levels(fl[[asgn[i]]])
    eff <- cnms[[i]]
    # within a term, columns run level by level, effects fastest
    cols$term <- c(cols$term, rep(names(cnms)[i], length(levs) * length(eff)))
    cols$term_index <- c(cols$term_index, rep(i, length(levs) * length(eff)))
    cols$group <- c(cols$group, rep(names(fl)[asgn[i]], length(levs) * length(eff)))
    cols$effect <- c(cols$effect, rep(eff, times = length(levs)))
    cols$level <- c(cols$level, rep(levs, each = length(eff)))
  }
  stopifnot(identical(cols$level, rownames(getME(m, "Zt"))))
  lapply(cols, arr)
}

model_matrix_entry <- function(dataset, formula) {
  m <- fit_lme4(formula, DATA[[dataset]], REML = TRUE)
  X <- getME(m, "X")
  Z <- as.matrix(t(getME(m, "Zt")))
  fl <- getME(m, "flist")
  list(
    data = dataset,
    formula = formula,
    n = nrow(X),
    X = list(colnames = arr(colnames(X)), layout = "row-major", values = unname(X)),
    Z = list(ncol = ncol(Z), layout = "row-major", values = unname(Z), columns = z_columns(m)),
    terms = arr(names(m@cnms)),
    cnms = lapply(m@cnms, arr),
    flist = lapply(fl, function(f) arr(levels(f))),
    flist_assign = arr(attr(fl, "assign"))
  )
}

make_model_matrices <- function() {
  specs <- list(
    sleepstudy_corr   = list("sleepstudy", "Reaction ~ Days + (Days|Subject)"),
    sleepstudy_uncorr = list("sleepstudy", "Reaction ~ Days + (Days||Subject)"),
    sleepstudy_slope  = list("sleepstudy", "Reaction ~ Days + (0+Days|Subject)"),
    Penicillin        = list("Penicillin", "diameter ~ 1 + (1|plate) + (1|sample)"),
    Pastes            = list("Pastes", "strength ~ 1 + (1|batch/cask)"),
    oats              = list("oats", "Y ~ V*N + (1|B/V)")
  )
  out <- list(
    description = paste("Fixed-effects matrix X = getME(m,'X') and Z = t(getME(m,'Zt')) as dense",
                        "matrices, row-major (values[i] is row i). Z$columns gives, per column of Z,",
                        "the lme4 term name (names(m@cnms)), its 1-based term_index (with (x||g) both",
                        "terms are named 'g'; as.data.frame(VarCorr) calls them 'g' and 'g.1'),",
                        "grouping factor (names(flist)),",
                        "effect name and level label. lme4 orders terms by decreasing number of levels;",
                        "within a term, columns run level by level with effects varying fastest."),
    versions = versions(),
    factor_notes = FACTOR_NOTES,
    models = list()
  )
  for (k in names(specs)) out$models[[k]] <- model_matrix_entry(specs[[k]][[1]], specs[[k]][[2]])
  out
}

# ---------------------------------------------------------------------------------------------
# (b) fits

ranef_entry <- function(m) {
  re <- ranef(m, condVar = TRUE)
  lapply(re, function(df) {
    pv <- attr(df, "postVar")
    cond_var <- list()
    if (is.list(pv)) {          # several terms on one grouping factor, e.g. (x||g)
      for (nm in names(pv)) {
        a <- pv[[nm]]
        for (j in seq_len(dim(a)[1])) {
          en <- if (dim(a)[1] == 1) nm else colnames(df)[j]
          cond_var[[en]] <- arr(a[j, j, ])
        }
      }
    } else {
      for (j in seq_len(ncol(df))) cond_var[[colnames(df)[j]]] <- arr(pv[j, j, ])
    }
    vals <- lapply(as.list(df), arr)
    list(levels = arr(rownames(df)), effects = arr(colnames(df)), values = vals,
         cond_var = cond_var)
  })
}

fit_entry <- function(m, seconds = NULL) {
  ll <- logLik(m)
  vc <- as.data.frame(VarCorr(m), order = "lower.tri")
  V <- as.matrix(vcov(m))
  remlcrit <- tryCatch(REMLcrit(m), error = function(e) NA_real_)
  cmp <- getME(m, "devcomp")$cmp
  res <- list(
    REML = isREML(m),
    nobs = nobs(m),
    logLik = as.numeric(ll),
    logLik_df = attr(ll, "df"),
    minus2logLik = -2 * as.numeric(ll),
    REMLcrit = remlcrit,
    deviance_ML_at_fit = deviance(m, REML = FALSE),
    AIC = AIC(m),
    BIC = BIC(m),
    sigma = sigma(m),
    theta = arr(unname(getME(m, "theta"))),
    theta_names = arr(names(getME(m, "theta"))),
    devcomp = as.list(cmp),
    varcorr = list(grp = arr(vc$grp), var1 = arr(vc$var1), var2 = arr(vc$var2),
                   vcov = arr(vc$vcov), sdcor = arr(vc$sdcor)),
    fixef = list(names = arr(names(fixef(m))), estimate = arr(unname(fixef(m))),
                 std_error = arr(unname(sqrt(diag(V))))),
    vcov_beta = unname(V),
    ranef = ranef_entry(m),
    isSingular = isSingular(m),
    optimizer = list(feval = m@optinfo$feval, conv = m@optinfo$conv$opt,
                     messages = arr(unlist(c(m@optinfo$conv$lme4$messages,
                                             m@optinfo$message, m@optinfo$warnings))))
  )
  if (!is.null(seconds)) res$fit_seconds <- seconds
  res
}

fit_both <- function(dataset, formula, note = NULL, timed = FALSE) {
  out <- list(data = dataset, formula = formula)
  if (!is.null(note)) out$note <- note
  for (reml in c(TRUE, FALSE)) {
    t <- system.time(m <- fit_lme4(formula, DATA[[dataset]], REML = reml))[["elapsed"]]
    out[[if (reml) "REML" else "ML"]] <- fit_entry(m, if (timed) t else NULL)
  }
  out
}

FIT_SPECS <- list(
  sleepstudy_corr   = list("sleepstudy", "Reaction ~ Days + (Days|Subject)"),
  sleepstudy_uncorr = list("sleepstudy", "Reaction ~ Days + (Days||Subject)"),
  Penicillin        = list("Penicillin", "diameter ~ 1 + (1|plate) + (1|sample)"),
  Pastes            = list("Pastes", "strength ~ 1 + (1|batch/cask)"),
  Dyestuff          = list("Dyestuff", "Yield ~ 1 + (1|Batch)"),
  Dyestuff2         = list("Dyestuff2", "Yield ~ 1 + (1|Batch)", "boundary fit: Batch variance estimate is 0"),
  oats              = list("oats", "Y ~ V*N + (1|B/V)", FACTOR_NOTES$oats),
  cake_temp         = list("cake", "angle ~ recipe + temp + (1|recipe:replicate)", "temp is numeric"),
  cake_factor       = list("cake", "angle ~ recipe*temperature + (1|recipe:replicate)", FACTOR_NOTES$cake)
)

fits_header <- function() list(
  description = paste("lme4 fits, REML and ML, lmerControl(optimizer='bobyqa') with tight rhoend.",
                      "For a REML fit lme4's REMLcrit = -2*logLik (REML); deviance_ML_at_fit is",
                      "deviance(m, REML=FALSE), the ML deviance evaluated at the REML estimates.",
                      "For an ML fit minus2logLik is the deviance and REMLcrit is REMLcrit(m), the REML",
                      "criterion at the ML theta with sigma profiled out (not a REML optimum). varcorr = as.data.frame(VarCorr(m)) (var2 null",
                      "for variances; sdcor = sd or correlation). cond_var = diagonals of",
                      "attr(ranef(m, condVar=TRUE), 'postVar') per effect, in level order.",
                      "vcov_beta is vcov(m), row-major."),
  versions = versions(),
  control = CONTROL_DESC,
  factor_notes = FACTOR_NOTES
)

make_fits <- function() {
  out <- c(fits_header(), list(models = list()))
  for (k in names(FIT_SPECS)) {
    s <- FIT_SPECS[[k]]
    out$models[[k]] <- fit_both(s[[1]], s[[2]], if (length(s) > 2) s[[3]] else NULL)
  }
  out
}

make_fits_insteval <- function() {
  t_read <- system.time(
    DATA$InstEval <<- read_data("InstEval.csv.gz", c("s", "d", "studage", "lectage", "service", "dept"))
  )[["elapsed"]]
  out <- c(fits_header(), list(read_seconds = t_read, models = list()))
  out$models$InstEval <- fit_both("InstEval", "y ~ service*dept + (1|s) + (1|d)",
                                  "service, dept, s, d are factors; fit_seconds = system.time elapsed",
                                  timed = TRUE)
  out
}

# ---------------------------------------------------------------------------------------------
# (c) inference

coef_table <- function(cf) {
  list(names = arr(rownames(cf)), estimate = arr(unname(cf[, "Estimate"])),
       std_error = arr(unname(cf[, "Std. Error"])), df = arr(unname(cf[, "df"])),
       t_value = arr(unname(cf[, "t value"])), p_value = arr(unname(cf[, "Pr(>|t|)"])))
}

anova_table <- function(a) {
  list(terms = arr(rownames(a)), sum_sq = arr(a[["Sum Sq"]]), mean_sq = arr(a[["Mean Sq"]]),
       num_df = arr(a[["NumDF"]]), den_df = arr(a[["DenDF"]]), F_value = arr(a[["F value"]]),
       p_value = arr(a[["Pr(>F)"]]))
}

lmertest_entry <- function(dataset, formula) {
  m <- lmerTest::lmer(as.formula(formula), data = DATA[[dataset]], REML = TRUE, control = CONTROL)
  list(
    data = dataset, formula = formula, REML = TRUE,
    satterthwaite = list(
      coefficients = coef_table(summary(m, ddf = "Satterthwaite")$coefficients),
      anova_type3 = anova_table(anova(m, type = 3, ddf = "Satterthwaite")),
      anova_type1 = anova_table(anova(m, type = 1, ddf = "Satterthwaite"))
    ),
    kenward_roger = list(
      coefficients = coef_table(summary(m, ddf = "Kenward-Roger")$coefficients),
      anova_type3 = anova_table(anova(m, type = 3, ddf = "Kenward-Roger"))
    )
  )
}

ci_table <- function(ci) {
  list(names = arr(rownames(ci)), lower = arr(unname(ci[, 1])), upper = arr(unname(ci[, 2])),
       level = 0.95)
}

emm_table <- function(e) {
  d <- as.data.frame(summary(e))
  by <- setdiff(names(d), c("emmean", "SE", "df", "lower.CL", "upper.CL"))
  list(levels = arr(as.character(d[[by[1]]])), factor = by[1], emmean = arr(d$emmean),
       SE = arr(d$SE), df = arr(d$df), lower_CL = arr(d$lower.CL), upper_CL = arr(d$upper.CL))
}

contrast_table <- function(p) {
  d <- as.data.frame(summary(p))
  list(contrast = arr(as.character(d$contrast)), estimate = arr(d$estimate), SE = arr(d$SE),
       df = arr(d$df), t_ratio = arr(d$t.ratio), p_value = arr(d$p.value))
}

make_inference <- function() {
  out <- list(
    description = paste("lmerTest 'coefficients' = summary(m)$coefficients; anova tables from",
                        "anova(m, type=3|1, ddf=...). Profile CIs: confint(m, method='profile',",
                        "oldNames=FALSE) on the REML fit (rows: sd_/cor_ of random effects, sigma,",
                        "fixed effects). Wald CIs: confint(m, method='Wald') fixed-effect rows.",
                        "emmeans with lmer.df='satterthwaite'; contrasts pairs(..., adjust='none')."),
    versions = versions(),
    control = CONTROL_DESC,
    factor_notes = FACTOR_NOTES,
    lmerTest = list(
      sleepstudy = lmertest_entry("sleepstudy", "Reaction ~ Days + (Days|Subject)"),
      Penicillin_half = lmertest_entry("Penicillin", "diameter ~ half + (1|plate) + (1|sample)"),
      oats = lmertest_entry("oats", "Y ~ V*N + (1|B/V)")
    ),
    confint = list()
  )
  for (k in c("sleepstudy", "Dyestuff")) {
    f <- if (k == "sleepstudy") "Reaction ~ Days + (Days|Subject)" else "Yield ~ 1 + (1|Batch)"
    m <- fit_lme4(f, DATA[[k]], REML = TRUE)
    prof <- suppressWarnings(confint(m, method = "profile", oldNames = FALSE))
    wald <- confint(m, method = "Wald", oldNames = FALSE)
    wald <- wald[names(fixef(m)), , drop = FALSE]
    out$confint[[k]] <- list(data = k, formula = f, REML = TRUE,
                             profile = ci_table(prof), wald = ci_table(wald))
  }

  m <- lmerTest::lmer(Y ~ V * N + (1 | B / V), data = DATA$oats, REML = TRUE, control = CONTROL)
  eV <- suppressMessages(emmeans(m, ~V, lmer.df = "satterthwaite"))
  eN <- suppressMessages(emmeans(m, ~N, lmer.df = "satterthwaite"))
  out$emmeans <- list(
    oats = list(
      data = "oats", formula = "Y ~ V*N + (1|B/V)", REML = TRUE, lmer_df = "satterthwaite",
      note = "V and N are in an interaction: marginal means average over the other factor with equal weights.",
      by_V = emm_table(eV),
      by_N = emm_table(eN),
      pairs_N = contrast_table(pairs(eN, adjust = "none"))
    )
  )

  d <- DATA$Dyestuff
  l0 <- lm(Yield ~ 1, data = d)
  m1 <- fit_lme4("Yield ~ 1 + (1|Batch)", d, REML = FALSE)
  ll0 <- as.numeric(logLik(l0))
  ll1 <- as.numeric(logLik(m1))
  stat <- 2 * (ll1 - ll0)
  out$lrt <- list(
    Dyestuff = list(
      data = "Dyestuff",
      null = "lm(Yield ~ 1) (ML)", alternative = "lmer(Yield ~ 1 + (1|Batch), REML=FALSE)",
      logLik_null_ML = ll0,
      logLik_null_REML = as.numeric(logLik(l0, REML = TRUE)),
      logLik_alt_ML = ll1,
      logLik_alt_REML = as.numeric(logLik(fit_lme4("Yield ~ 1 + (1|Batch)", d, REML = TRUE))),
      statistic = stat, df = 1L,
      p_value_chisq1 = pchisq(stat, 1, lower.tail = FALSE),
      p_value_boundary_mixture = 0.5 * pchisq(stat, 1, lower.tail = FALSE)
    )
  )
  out
}

# ---------------------------------------------------------------------------------------------

write_json_file(make_model_matrices(), file.path(here, "model_matrices.json"))
write_json_file(make_fits(), file.path(here, "fits.json"))
write_json_file(make_inference(), file.path(here, "inference.json"))
if (!skip_insteval) write_json_file(make_fits_insteval(), file.path(here, "fits_insteval.json"))
