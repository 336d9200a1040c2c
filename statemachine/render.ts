/**
 * The one function that turns the ASL template into the definition that deploys. The Pulumi
 * component, the tests, `npm run simulate` and `npm run bench` all call it, so what runs locally is
 * exactly what runs in AWS.
 */
import template from './export-chain.asl.json';

export interface DefinitionParameters {
  /** ARN of the export tick Lambda function. */
  TickFunctionArn: string;
}

const PLACEHOLDER = /\$\{([A-Za-z0-9_]+)\}/g;

/** Renders the export chain definition; throws on a missing, empty or unknown placeholder. */
export function renderDefinition(parameters: DefinitionParameters): Record<string, unknown> {
  const values = parameters as unknown as Record<string, string>;
  for (const [name, value] of Object.entries(values)) {
    if (typeof value !== 'string' || value.length === 0) {
      throw new Error(`renderDefinition: parameter ${name} must be a non-empty string`);
    }
  }
  const text = JSON.stringify(template).replace(PLACEHOLDER, (_match, name: string) => {
    if (!(name in values)) {
      throw new Error(`renderDefinition: the template uses \${${name}} but no value was given`);
    }
    return JSON.stringify(values[name]).slice(1, -1);
  });
  return JSON.parse(text) as Record<string, unknown>;
}

/** The definition as the JSON string Step Functions takes. */
export function renderDefinitionString(parameters: DefinitionParameters): string {
  return JSON.stringify(renderDefinition(parameters), null, 2);
}
