// ESLint flat config: typescript-eslint recommended rules, Prettier owns formatting.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  { ignores: ['node_modules/**', '.sim/**', 'bin/**', 'reports/**', '.stryker-tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    files: ['tests/**/*.ts'],
    rules: {
      // chai assertions such as `expect(x).to.be.empty` are expressions by design.
      '@typescript-eslint/no-unused-expressions': 'off',
      // Hand-written stand-ins and assertions on loosely shaped answers may stay untyped in tests.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
);
