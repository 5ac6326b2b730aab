import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      'dist-lib/',
      'dist-handlers/',
      'cdk.out/',
      '.venv/',
      '.cache/',
      'coverage/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' },
      ],
    },
  },
  {
    // Tool entry points whose loaders require a default export.
    files: ['eslint.config.mjs', 'test/support/global-*.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The domain and use cases decide; they never talk to the world.
    files: ['lambda/domain/**/*.ts', 'lambda/use-cases/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@aws-sdk/*', 'aws-cdk-lib', 'aws-cdk-lib/*'],
              message: 'Only adapters import AWS SDKs.',
            },
            {
              group: ['**/adapters/**', '**/handlers/**', '**/cli/**'],
              message: 'Domain and use cases depend on ports only.',
            },
          ],
          paths: [
            'node:tls',
            'node:net',
            'node:http',
            'node:https',
            'node:dns',
            'tls',
            'net',
            'http',
            'https',
            'dns',
            'node:child_process',
            'child_process',
          ],
        },
      ],
    },
  },
);
