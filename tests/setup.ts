// Loaded by mocha before any spec (see .mocharc.json).
// aws-local-stepfunctions uses Promise.withResolvers, which Node 20 lacks.
import '../sim/polyfills';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
